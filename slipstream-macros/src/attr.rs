//! The arguments of `#[slipstream::client(...)]`, `#[repeat(...)]` and the handler
//! attributes, parsed with one `Parse` impl each.
//!
//! Every key goes through [`set_once`], so a repeated key is reported at its second
//! occurrence, and keys are custom keywords, so an unknown one gets an "expected ..." error
//! that lists the keys the attribute accepts.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Error, Expr, LitStr, Result, Token, bracketed, parenthesized};

mod kw {
    syn::custom_keyword!(topics);
    syn::custom_keyword!(dynamic_topics);
    syn::custom_keyword!(to);
    syn::custom_keyword!(rename);
    syn::custom_keyword!(topic);
    syn::custom_keyword!(event);
}

/// `#[slipstream::client(topics = [...], dynamic_topics = [...])]`.
#[derive(Default)]
pub(crate) struct ClientArgs {
    /// The topics joined on every connect, in order.
    pub(crate) topics: Vec<JoinTopic>,
    /// Topics or patterns the client joins at run time; handlers may name them.
    pub(crate) dynamic_topics: Vec<TopicPattern>,
}

/// One entry of `topics = [...]`: a topic and the expression of its join params.
pub(crate) struct JoinTopic {
    pub(crate) name: LitStr,
    pub(crate) params: Option<Expr>,
}

/// `#[repeat(to = EXPR, topics = [...], rename = "...")]`.
#[derive(Default)]
pub(crate) struct RepeatArgs {
    /// Required; its absence is reported at the attribute by the caller.
    pub(crate) to: Option<Expr>,
    pub(crate) topics: Option<Vec<TopicPattern>>,
    pub(crate) rename: Option<LitStr>,
}

/// The arguments of a handler attribute: `topic = "..."` and, for `#[on_message]`,
/// `event = "..."`.
#[derive(Default)]
pub(crate) struct HandlerArgs {
    pub(crate) topic: Option<TopicPattern>,
    pub(crate) event: Option<LitStr>,
}

/// A topic as a handler or `#[repeat]` names it: exact, a `prefix*` pattern, or `*`.
#[derive(Clone)]
pub(crate) struct TopicPattern {
    pub(crate) lit: LitStr,
    pub(crate) kind: PatternKind,
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PatternKind {
    Exact(String),
    Prefix(String),
}

impl TopicPattern {
    /// True when `topic` is one of the topics this pattern names.
    pub(crate) fn matches(&self, topic: &str) -> bool {
        match &self.kind {
            PatternKind::Exact(exact) => exact == topic,
            PatternKind::Prefix(prefix) => topic.starts_with(prefix.as_str()),
        }
    }

    /// True when every topic `other` names is also named by `self`.
    pub(crate) fn covers(&self, other: &TopicPattern) -> bool {
        match &other.kind {
            PatternKind::Exact(topic) => self.matches(topic),
            PatternKind::Prefix(prefix) => {
                matches!(&self.kind, PatternKind::Prefix(mine) if prefix.starts_with(mine.as_str()))
            }
        }
    }
}

/// Stores `value` in `slot`, or fails at `span` if the key was already given.
fn set_once<T>(slot: &mut Option<T>, value: T, key: &str, span: Span) -> Result<()> {
    if slot.is_some() {
        return Err(Error::new(
            span,
            format!("duplicate key `{key}`; give it once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// Parses `key = value` pairs separated by commas until the input ends, handing each key
/// to `one`, which must consume the key, the `=` and the value.
fn parse_pairs(
    input: ParseStream<'_>,
    mut one: impl FnMut(ParseStream<'_>) -> Result<()>,
) -> Result<()> {
    while !input.is_empty() {
        one(input)?;
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

impl Parse for ClientArgs {
    fn parse(input: ParseStream<'_>) -> Result<Self> {
        let mut topics = None;
        let mut dynamic_topics = None;
        parse_pairs(input, |input| {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::topics) {
                let key = input.parse::<kw::topics>()?;
                input.parse::<Token![=]>()?;
                let value = parse_join_topics(input)?;
                set_once(&mut topics, value, "topics", key.span)
            } else if lookahead.peek(kw::dynamic_topics) {
                let key = input.parse::<kw::dynamic_topics>()?;
                input.parse::<Token![=]>()?;
                let value = parse_patterns(input, "dynamic_topics")?;
                set_once(&mut dynamic_topics, value, "dynamic_topics", key.span)
            } else {
                Err(lookahead.error())
            }
        })?;
        Ok(ClientArgs {
            topics: topics.unwrap_or_default(),
            dynamic_topics: dynamic_topics.unwrap_or_default(),
        })
    }
}

/// `[ "topic", ("topic", params), ... ]`.
fn parse_join_topics(input: ParseStream<'_>) -> Result<Vec<JoinTopic>> {
    let content = bracketed_list(input, "topics")?;
    let entries = Punctuated::<JoinTopic, Token![,]>::parse_terminated(&content)?;
    Ok(entries.into_iter().collect())
}

/// `[ "topic", "prefix*", ... ]`.
fn parse_patterns(input: ParseStream<'_>, key: &str) -> Result<Vec<TopicPattern>> {
    let content = bracketed_list(input, key)?;
    let entries = Punctuated::<TopicPattern, Token![,]>::parse_terminated(&content)?;
    Ok(entries.into_iter().collect())
}

fn bracketed_list<'a>(input: ParseStream<'a>, key: &str) -> Result<syn::parse::ParseBuffer<'a>> {
    if !input.peek(syn::token::Bracket) {
        return Err(input.error(format!(
            "expected a list of topics: `{key} = [\"rooms:lobby\"]`"
        )));
    }
    let content;
    bracketed!(content in input);
    Ok(content)
}

impl Parse for JoinTopic {
    fn parse(input: ParseStream<'_>) -> Result<Self> {
        if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let name = parse_topic_literal(&content)?;
            content.parse::<Token![,]>()?;
            let params = content.parse::<Expr>()?;
            content.parse::<Option<Token![,]>>()?;
            return Ok(JoinTopic {
                name,
                params: Some(params),
            });
        }
        let name = parse_topic_literal(input)?;
        Ok(JoinTopic { name, params: None })
    }
}

/// A string literal naming one topic: not empty, not a pattern.
fn parse_topic_literal(input: ParseStream<'_>) -> Result<LitStr> {
    if !input.peek(LitStr) {
        return Err(input.error(
            "expected a topic as a string literal, such as `\"rooms:lobby\"`, \
             or a topic with join params, such as `(\"rooms:lobby\", params)`",
        ));
    }
    let lit = input.parse::<LitStr>()?;
    let value = lit.value();
    if value.is_empty() {
        return Err(Error::new(
            lit.span(),
            "topic must not be empty; write one such as `\"rooms:lobby\"`",
        ));
    }
    if value.contains('*') {
        return Err(Error::new(
            lit.span(),
            "cannot join a pattern; list each topic to join, or name patterns in `dynamic_topics`",
        ));
    }
    Ok(lit)
}

impl Parse for TopicPattern {
    fn parse(input: ParseStream<'_>) -> Result<Self> {
        if !input.peek(LitStr) {
            return Err(input.error(
                "expected a topic as a string literal, such as `\"rooms:lobby\"` or `\"rooms:*\"`",
            ));
        }
        let lit = input.parse::<LitStr>()?;
        let value = lit.value();
        let kind = match value.find('*') {
            _ if value.is_empty() => {
                return Err(Error::new(
                    lit.span(),
                    "topic must not be empty; write one such as `\"rooms:lobby\"`",
                ));
            }
            None => PatternKind::Exact(value),
            Some(at) if at + 1 == value.len() => PatternKind::Prefix(value[..at].to_owned()),
            Some(_) => {
                return Err(Error::new(
                    lit.span(),
                    "`*` may only end a topic pattern, as in `\"rooms:*\"`",
                ));
            }
        };
        Ok(TopicPattern { lit, kind })
    }
}

impl Parse for RepeatArgs {
    fn parse(input: ParseStream<'_>) -> Result<Self> {
        let mut to = None;
        let mut topics = None;
        let mut rename = None;
        parse_pairs(input, |input| {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::to) {
                let key = input.parse::<kw::to>()?;
                input.parse::<Token![=]>()?;
                set_once(&mut to, input.parse::<Expr>()?, "to", key.span)
            } else if lookahead.peek(kw::topics) {
                let key = input.parse::<kw::topics>()?;
                input.parse::<Token![=]>()?;
                let value = parse_patterns(input, "topics")?;
                set_once(&mut topics, value, "topics", key.span)
            } else if lookahead.peek(kw::rename) {
                let key = input.parse::<kw::rename>()?;
                input.parse::<Token![=]>()?;
                let value = parse_topic_literal(input)?;
                set_once(&mut rename, value, "rename", key.span)
            } else {
                Err(lookahead.error())
            }
        })?;
        Ok(RepeatArgs { to, topics, rename })
    }
}

impl HandlerArgs {
    /// Parses the arguments of a handler attribute that accepts `topic` and, when
    /// `with_event`, `event`.
    pub(crate) fn parse(input: ParseStream<'_>, with_event: bool) -> Result<Self> {
        let mut topic = None;
        let mut event = None;
        parse_pairs(input, |input| {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::topic) {
                let key = input.parse::<kw::topic>()?;
                input.parse::<Token![=]>()?;
                set_once(
                    &mut topic,
                    input.parse::<TopicPattern>()?,
                    "topic",
                    key.span,
                )
            } else if with_event && lookahead.peek(kw::event) {
                let key = input.parse::<kw::event>()?;
                input.parse::<Token![=]>()?;
                set_once(&mut event, parse_event(input)?, "event", key.span)
            } else {
                Err(lookahead.error())
            }
        })?;
        Ok(HandlerArgs { topic, event })
    }
}

/// An event name: a non-empty string literal that is not one of Phoenix's own events.
fn parse_event(input: ParseStream<'_>) -> Result<LitStr> {
    if !input.peek(LitStr) {
        return Err(input.error("expected an event as a string literal, such as `\"new_msg\"`"));
    }
    let lit = input.parse::<LitStr>()?;
    let instead = match lit.value().as_str() {
        "" => {
            return Err(Error::new(
                lit.span(),
                "event must not be empty; leave `event` out to handle every event",
            ));
        }
        "phx_reply" => "`#[on_reply]` or `#[on_join]`",
        "phx_error" => "`#[on_topic_close]`",
        "phx_close" | "phx_leave" => "`#[on_leave]`",
        "phx_join" => "`#[on_join]`",
        _ => return Ok(lit),
    };
    Err(Error::new(
        lit.span(),
        format!(
            "`{}` never reaches `#[on_message]`; use {instead}",
            lit.value()
        ),
    ))
}
