//! The rules that span several items: every topic a handler or `#[repeat]` names is one
//! the client joins, no two handlers claim the same topic and event, and `rename` has one
//! topic to rename.

use std::collections::HashSet;

use syn::Error;

use crate::ast::{Errors, Input, Kind};
use crate::attr::{PatternKind, TopicPattern};

/// Checks `input`, adding each broken rule to `errors`.
pub(crate) fn check(input: &Input, errors: &mut Errors) {
    check_join_topics(input, errors);
    check_handler_topics(input, errors);
    check_duplicates(input, errors);
    check_repeats(input, errors);
}

fn check_join_topics(input: &Input, errors: &mut Errors) {
    let mut seen = HashSet::new();
    for topic in &input.args.topics {
        if !seen.insert(topic.name.value()) {
            errors.push(Error::new(
                topic.name.span(),
                format!(
                    "topic `{}` is listed twice; list it once",
                    topic.name.value()
                ),
            ));
        }
    }
}

/// True when the client joins a topic `pattern` names: one of `topics`, or one of the
/// `dynamic_topics` it joins at run time.
fn is_joined(input: &Input, pattern: &TopicPattern) -> bool {
    let listed = input
        .args
        .topics
        .iter()
        .any(|t| pattern.matches(&t.name.value()));
    let dynamic = input
        .args
        .dynamic_topics
        .iter()
        .any(|d| d.covers(pattern) || pattern.covers(d) || overlaps(d, pattern));
    listed || dynamic
}

/// True when some topic is named by both patterns.
fn overlaps(a: &TopicPattern, b: &TopicPattern) -> bool {
    match (&a.kind, &b.kind) {
        (PatternKind::Prefix(x), PatternKind::Prefix(y)) => {
            x.starts_with(y.as_str()) || y.starts_with(x.as_str())
        }
        _ => false,
    }
}

fn never_joined(what: &str, pattern: &TopicPattern) -> Error {
    let topic = pattern.lit.value();
    let message = match pattern.kind {
        PatternKind::Exact(_) => format!(
            "{what} names topic `{topic}`, which this client never joins; add it to \
             `topics = [...]`, or to `dynamic_topics = [...]` if you join it at run time"
        ),
        PatternKind::Prefix(_) => format!(
            "{what} names pattern `{topic}`, which matches no topic this client joins; add a \
             matching topic to `topics = [...]`, or the pattern to `dynamic_topics = [...]`"
        ),
    };
    Error::new(pattern.lit.span(), message)
}

fn check_handler_topics(input: &Input, errors: &mut Errors) {
    for handler in &input.handlers {
        for route in &handler.routes {
            let Some(pattern) = &route.topic else {
                continue;
            };
            if pattern.lit.value() != "*" && !is_joined(input, pattern) {
                let what = format!("`#[{}]`", handler.kind.name());
                errors.push(never_joined(&what, pattern));
            }
        }
    }
}

/// The key two routes of one kind may not share: topic as written (`*` is any topic) and
/// event.
fn route_key(
    topic: Option<&TopicPattern>,
    event: Option<&syn::LitStr>,
) -> (String, Option<String>) {
    let topic = topic.map_or_else(|| "*".to_owned(), |t| t.lit.value());
    (topic, event.map(syn::LitStr::value))
}

fn check_duplicates(input: &Input, errors: &mut Errors) {
    for kind in Kind::ALL {
        let mut seen: Vec<((String, Option<String>), &syn::Ident)> = Vec::new();
        let handlers = input.handlers.iter().filter(|h| h.kind == kind);
        for handler in handlers {
            for route in &handler.routes {
                let key = route_key(route.topic.as_ref(), route.event.as_ref());
                if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                    errors.push(Error::new(route.span, duplicate_message(kind, &key, first)));
                    continue;
                }
                seen.push((key, &handler.ident));
            }
        }
    }
}

fn duplicate_message(
    kind: Kind,
    (topic, event): &(String, Option<String>),
    first: &syn::Ident,
) -> String {
    let name = kind.name();
    let what = match (topic.as_str(), event) {
        ("*", None)
            if matches!(
                kind,
                Kind::Message | Kind::Join | Kind::TopicClose | Kind::Leave
            ) =>
        {
            "every topic".to_owned()
        }
        ("*", None) => {
            return format!(
                "a second `#[{name}]` handler; `fn {first}` already handles it, and a client has one"
            );
        }
        ("*", Some(event)) => format!("event `{event}` on every topic"),
        (topic, None) => format!("topic `{topic}`"),
        (topic, Some(event)) => format!("topic `{topic}` and event `{event}`"),
    };
    format!(
        "a second `#[{name}]` handler for {what}; `fn {first}` already handles it, merge the two"
    )
}

fn check_repeats(input: &Input, errors: &mut Errors) {
    for repeat in &input.repeats {
        for pattern in repeat.topics.iter().flatten() {
            if pattern.lit.value() != "*" && !is_joined(input, pattern) {
                errors.push(never_joined("`#[repeat]`", pattern));
            }
        }
        let Some(rename) = &repeat.rename else {
            continue;
        };
        let single = match &repeat.topics {
            Some(topics) => topics.len() == 1 && matches!(topics[0].kind, PatternKind::Exact(_)),
            None => input.args.topics.len() == 1 && input.args.dynamic_topics.is_empty(),
        };
        if !single {
            errors.push(Error::new(
                rename.span(),
                "`rename` repeats one topic into another; name that one topic with \
                 `topics = [\"...\"]`",
            ));
        }
    }
}
