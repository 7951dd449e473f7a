//! The typed model of one `#[slipstream::client]` item: the struct or impl block, its
//! `#[repeat]` attributes and its handler methods, parsed from syn.
//!
//! Parsing strips every attribute the macro owns from the user's item, so the item can be
//! emitted unchanged whether or not expansion succeeds. Mistakes are collected in
//! [`Errors`] rather than returned at the first one, so independent mistakes are all
//! reported in one build.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{
    Attribute, Error, Expr, FnArg, Ident, ImplItem, ImplItemFn, Item, LitStr, Meta, ReturnType,
    Type, Visibility,
};

use crate::attr::{ClientArgs, HandlerArgs, RepeatArgs, TopicPattern};

/// Mistakes found so far, combined into one error.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.0.map(|e| e.to_compile_error()).unwrap_or_default()
    }
}

/// One client: the item the attribute sits on and everything parsed from it.
pub(crate) struct Input {
    /// The user's item with the macro's attributes removed.
    pub(crate) item: Item,
    /// The type the `Client` impl is for.
    pub(crate) self_ty: Type,
    /// The visibility of the generated `start` (the struct's, or `pub` on an impl block).
    pub(crate) vis: Visibility,
    pub(crate) args: ClientArgs,
    pub(crate) repeats: Vec<Repeat>,
    pub(crate) handlers: Vec<Handler>,
    /// The impl block defines its own `start`, so none is generated.
    pub(crate) has_start: bool,
}

/// One `#[repeat(...)]`.
pub(crate) struct Repeat {
    pub(crate) to: Expr,
    pub(crate) topics: Option<Vec<TopicPattern>>,
    pub(crate) rename: Option<LitStr>,
}

/// Which callback a handler serves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Connect,
    Join,
    Message,
    Reply,
    TopicClose,
    Leave,
    Disconnect,
    Info,
    Call,
    DecodeError,
}

/// What one handler parameter receives.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Topic,
    Payload,
    Reference,
    Reply,
    Reason,
    Info,
    Call,
    Message,
    Error,
}

impl Kind {
    pub(crate) const ALL: [Kind; 10] = [
        Kind::Connect,
        Kind::Join,
        Kind::Message,
        Kind::Reply,
        Kind::TopicClose,
        Kind::Leave,
        Kind::Disconnect,
        Kind::Info,
        Kind::Call,
        Kind::DecodeError,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Connect => "on_connect",
            Kind::Join => "on_join",
            Kind::Message => "on_message",
            Kind::Reply => "on_reply",
            Kind::TopicClose => "on_topic_close",
            Kind::Leave => "on_leave",
            Kind::Disconnect => "on_disconnect",
            Kind::Info => "on_info",
            Kind::Call => "on_call",
            Kind::DecodeError => "on_decode_error",
        }
    }

    fn from_attr(attr: &Attribute) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|kind| attr.path().is_ident(kind.name()))
    }

    /// The parameters after the socket, in order; a handler takes a suffix of them.
    pub(crate) fn slots(self) -> &'static [Slot] {
        match self {
            Kind::Connect => &[],
            Kind::Join | Kind::Message => &[Slot::Topic, Slot::Payload],
            Kind::Reply => &[Slot::Reference, Slot::Reply],
            Kind::TopicClose => &[Slot::Topic, Slot::Reason],
            Kind::Leave => &[Slot::Topic],
            Kind::Disconnect => &[Slot::Reason],
            Kind::Info => &[Slot::Info],
            Kind::Call => &[Slot::Call],
            Kind::DecodeError => &[Slot::Message, Slot::Error],
        }
    }

    /// The full signature, for diagnostics.
    fn signature(self) -> &'static str {
        match self {
            Kind::Connect => "(&mut self, socket: &mut Socket)",
            Kind::Join => "(&mut self, socket: &mut Socket, topic: &SharedStr, response: T)",
            Kind::Message => "(&mut self, socket: &mut Socket, topic: &SharedStr, payload: T)",
            Kind::Reply => {
                "(&mut self, socket: &mut Socket, reference: SharedStr, \
                 reply: Result<Reply, ReplyError>)"
            }
            Kind::TopicClose => {
                "(&mut self, socket: &mut Socket, topic: &SharedStr, reason: TopicCloseReason)"
            }
            Kind::Leave => "(&mut self, socket: &mut Socket, topic: &SharedStr)",
            Kind::Disconnect => "(&mut self, socket: &mut Socket, reason: &DisconnectReason)",
            Kind::Info => "(&mut self, socket: &mut Socket, info: T)",
            Kind::Call => "(&mut self, socket: &mut Socket, request: T)",
            Kind::DecodeError => {
                "(&mut self, socket: &mut Socket, message: &Message, error: PayloadError)"
            }
        }
    }

    /// Whether the attribute takes `topic = ...` (and, for messages, `event = ...`).
    fn routed(self) -> bool {
        matches!(
            self,
            Kind::Join | Kind::Message | Kind::TopicClose | Kind::Leave
        )
    }
}

/// One handler method and the routes its attributes give it.
pub(crate) struct Handler {
    pub(crate) kind: Kind,
    pub(crate) ident: Ident,
    /// One per attribute; a method may carry several of the same kind.
    pub(crate) routes: Vec<Route>,
    pub(crate) is_async: bool,
    /// The span of the socket parameter's type, when the handler takes the socket.
    pub(crate) socket: Option<Span>,
    pub(crate) args: Vec<Arg>,
    pub(crate) output: ReturnType,
}

/// Where one handler attribute sends messages.
pub(crate) struct Route {
    /// The attribute, for diagnostics.
    pub(crate) span: Span,
    pub(crate) topic: Option<TopicPattern>,
    pub(crate) event: Option<LitStr>,
}

/// One handler parameter after the socket.
pub(crate) struct Arg {
    pub(crate) slot: Slot,
    pub(crate) ty: Type,
    pub(crate) payload: PayloadAs,
}

/// How a payload parameter wants the payload.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadAs {
    /// Not a payload parameter.
    NotPayload,
    /// The whole `Message`.
    Message,
    /// The raw `Payload`.
    Raw,
    /// Decoded into the parameter's type.
    Typed,
}

impl Input {
    /// Parses the item the attribute sits on. `None` when the item is not one the macro
    /// supports; the reason is in `errors`.
    pub(crate) fn from_syn(args: ClientArgs, item: Item, errors: &mut Errors) -> Option<Input> {
        match item {
            Item::Struct(mut item) => {
                if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
                    errors.push(Error::new_spanned(
                        &item.generics,
                        "`#[slipstream::client]` does not support generic structs; \
                         the client task owns the value for `'static`, so use concrete types",
                    ));
                    return None;
                }
                let repeats = take_repeats(&mut item.attrs, errors);
                let ident = &item.ident;
                let self_ty: Type = syn::parse_quote!(#ident);
                Some(Input {
                    self_ty,
                    vis: item.vis.clone(),
                    args,
                    repeats,
                    handlers: Vec::new(),
                    has_start: false,
                    item: Item::Struct(item),
                })
            }
            Item::Impl(mut item) => {
                if let Some((_, path, _)) = &item.trait_ {
                    errors.push(Error::new_spanned(
                        path,
                        "`#[slipstream::client]` goes on the struct's own impl block \
                         (`impl Chat { ... }`), not on a trait impl",
                    ));
                    return None;
                }
                if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
                    errors.push(Error::new_spanned(
                        &item.generics,
                        "`#[slipstream::client]` does not support generic impl blocks; \
                         implement it for one concrete type",
                    ));
                    return None;
                }
                let repeats = take_repeats(&mut item.attrs, errors);
                let handlers = take_handlers(&mut item.items, errors);
                let has_start = item
                    .items
                    .iter()
                    .any(|i| matches!(i, ImplItem::Fn(f) if f.sig.ident == "start"));
                Some(Input {
                    self_ty: (*item.self_ty).clone(),
                    vis: syn::parse_quote!(pub),
                    args,
                    repeats,
                    handlers,
                    has_start,
                    item: Item::Impl(item),
                })
            }
            other => {
                let what = match &other {
                    Item::Enum(e) => Some(("an enum", e.enum_token.span())),
                    Item::Union(u) => Some(("a union", u.union_token.span())),
                    _ => None,
                };
                let (what, span) = what.unwrap_or(("this item", other.span()));
                errors.push(Error::new(
                    span,
                    format!(
                        "`#[slipstream::client]` goes on a struct or on its impl block, \
                         not on {what}"
                    ),
                ));
                None
            }
        }
    }
}

/// Removes every `#[repeat(...)]` from `attrs` and parses it.
fn take_repeats(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> Vec<Repeat> {
    let mut repeats = Vec::new();
    for attr in take_attrs(attrs, |attr| attr.path().is_ident("repeat")) {
        match parse_repeat(&attr) {
            Ok(repeat) => repeats.push(repeat),
            Err(error) => errors.push(error),
        }
    }
    repeats
}

fn parse_repeat(attr: &Attribute) -> syn::Result<Repeat> {
    let args = match &attr.meta {
        Meta::Path(_) => RepeatArgs::default(),
        Meta::List(_) => attr.parse_args::<RepeatArgs>()?,
        Meta::NameValue(nv) => {
            return Err(Error::new_spanned(
                nv.eq_token,
                "expected `#[repeat(to = ENDPOINT)]`",
            ));
        }
    };
    let Some(to) = args.to else {
        return Err(Error::new_spanned(
            attr,
            "`#[repeat]` needs `to`, the endpoint to repeat into: `#[repeat(to = ENDPOINT)]`",
        ));
    };
    Ok(Repeat {
        to,
        topics: args.topics,
        rename: args.rename,
    })
}

/// Removes and returns the attributes `select` picks, keeping the others in order.
fn take_attrs(attrs: &mut Vec<Attribute>, select: impl Fn(&Attribute) -> bool) -> Vec<Attribute> {
    let (taken, kept) = std::mem::take(attrs).into_iter().partition(|a| select(a));
    *attrs = kept;
    taken
}

/// Removes the handler attributes from every method of the impl block and parses the
/// handlers they mark.
fn take_handlers(items: &mut [ImplItem], errors: &mut Errors) -> Vec<Handler> {
    let mut handlers = Vec::new();
    for item in items {
        let attrs = match item {
            ImplItem::Fn(method) => {
                let attrs = take_attrs(&mut method.attrs, |a| Kind::from_attr(a).is_some());
                if let Some(handler) = parse_handler(method, &attrs, errors) {
                    // The callback hands over owned values; a handler may only read them.
                    method
                        .attrs
                        .push(syn::parse_quote!(#[allow(clippy::needless_pass_by_value)]));
                    handlers.push(handler);
                }
                continue;
            }
            ImplItem::Const(c) => &mut c.attrs,
            ImplItem::Type(t) => &mut t.attrs,
            ImplItem::Macro(m) => &mut m.attrs,
            _ => continue,
        };
        for attr in take_attrs(attrs, |a| Kind::from_attr(a).is_some()) {
            errors.push(Error::new_spanned(
                attr,
                "handler attributes go on methods of the impl block",
            ));
        }
    }
    handlers
}

/// Parses one method and its handler attributes; `None` when it has none, or when it has
/// a mistake (recorded in `errors`).
fn parse_handler(method: &ImplItemFn, attrs: &[Attribute], errors: &mut Errors) -> Option<Handler> {
    let first = attrs.first()?;
    let kind = Kind::from_attr(first)?;
    let mut routes = Vec::new();
    for attr in attrs {
        match parse_route(kind, attr) {
            Ok(route) => routes.push(route),
            Err(error) => errors.push(error),
        }
    }
    if routes.len() != attrs.len() {
        return None;
    }
    match parse_signature(kind, method) {
        Ok((socket, args)) => Some(Handler {
            kind,
            ident: method.sig.ident.clone(),
            routes,
            is_async: method.sig.asyncness.is_some(),
            socket,
            args,
            output: method.sig.output.clone(),
        }),
        Err(error) => {
            errors.push(error);
            None
        }
    }
}

fn parse_route(kind: Kind, attr: &Attribute) -> syn::Result<Route> {
    let found = Kind::from_attr(attr).unwrap_or(kind);
    if found != kind {
        return Err(Error::new_spanned(
            attr,
            format!(
                "a method handles one kind of callback; this one is already `#[{}]`",
                kind.name()
            ),
        ));
    }
    let args = match &attr.meta {
        Meta::Path(_) => HandlerArgs::default(),
        Meta::List(_) if kind.routed() => {
            attr.parse_args_with(|input: syn::parse::ParseStream<'_>| {
                HandlerArgs::parse(input, kind == Kind::Message)
            })?
        }
        Meta::List(list) => {
            return Err(Error::new_spanned(
                &list.tokens,
                format!("`#[{}]` takes no arguments; remove them", kind.name()),
            ));
        }
        Meta::NameValue(nv) => {
            return Err(Error::new_spanned(
                nv.eq_token,
                format!("expected `#[{}(...)]`", kind.name()),
            ));
        }
    };
    Ok(Route {
        span: attr.path().span(),
        topic: args.topic,
        event: args.event,
    })
}

/// Checks the receiver and the generics, finds the socket and matches the remaining
/// parameters against the end of the kind's parameter list.
fn parse_signature(kind: Kind, method: &ImplItemFn) -> syn::Result<(Option<Span>, Vec<Arg>)> {
    let sig = &method.sig;
    let usage = || {
        format!(
            "`#[{}]` handlers look like `fn {}{}`; `socket` and leading parameters after it \
             may be left out",
            kind.name(),
            sig.ident,
            kind.signature()
        )
    };
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(Error::new_spanned(
            &sig.generics,
            format!("handlers cannot be generic; {}", usage()),
        ));
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_some() => {}
        Some(FnArg::Receiver(r)) => {
            return Err(Error::new_spanned(
                r,
                "handlers take `&mut self`; write `&mut self` here",
            ));
        }
        _ => {
            return Err(Error::new_spanned(
                &sig.ident,
                format!("handlers take `&mut self` first; {}", usage()),
            ));
        }
    }

    let mut params: Vec<&syn::PatType> = inputs
        .map(|arg| match arg {
            FnArg::Typed(pat) => pat,
            FnArg::Receiver(_) => unreachable!("a receiver is always first"),
        })
        .collect();
    let socket = match params.first() {
        Some(p) if is_mut_ref(&p.ty) => Some(p.ty.span()),
        _ => None,
    };
    if socket.is_some() {
        params.remove(0);
    }
    if let Some(p) = params.iter().find(|p| is_mut_ref(&p.ty)) {
        return Err(Error::new_spanned(
            &p.ty,
            format!("the socket comes right after `&mut self`; {}", usage()),
        ));
    }
    if let Some(p) = params.iter().find(|p| names_socket(&p.ty)) {
        return Err(Error::new_spanned(
            &p.ty,
            "the socket is borrowed mutably; write `&mut Socket`",
        ));
    }
    let slots = kind.slots();
    if params.len() > slots.len() {
        return Err(Error::new_spanned(
            params[slots.len()],
            format!("too many parameters; {}", usage()),
        ));
    }

    let slots = &slots[slots.len() - params.len()..];
    slots
        .iter()
        .zip(params)
        .map(|(&slot, param)| {
            // A payload is owned, so a lone reference where the payload would go is the
            // topic: `fn f(&mut self, topic: &str)`.
            let slot = match (slot, &*param.ty) {
                (Slot::Payload, Type::Reference(_)) if kind.slots()[0] == Slot::Topic => {
                    Slot::Topic
                }
                _ => slot,
            };
            if slot == Slot::Topic && !matches!(&*param.ty, Type::Reference(_)) {
                return Err(Error::new_spanned(
                    &param.ty,
                    format!(
                        "this parameter stands where the topic goes (`&SharedStr` or `&str`); \
                         {}",
                        usage()
                    ),
                ));
            }
            let payload = payload_as(kind, slot, &param.ty)?;
            Ok(Arg {
                slot,
                ty: (*param.ty).clone(),
                payload,
            })
        })
        .collect::<syn::Result<Vec<_>>>()
        .map(|args| (socket, args))
}

/// Whether `ty` is a shared reference to something named `Socket`.
fn names_socket(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    matches!(&*reference.elem, Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "Socket"))
}

fn is_mut_ref(ty: &Type) -> bool {
    matches!(ty, Type::Reference(r) if r.mutability.is_some())
}

/// How a payload parameter of type `ty` wants its payload: by the last segment of the
/// type's path, `Message` or `Payload`, else decoded.
fn payload_as(kind: Kind, slot: Slot, ty: &Type) -> syn::Result<PayloadAs> {
    if slot != Slot::Payload {
        return Ok(PayloadAs::NotPayload);
    }
    let last = match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().map(|s| &s.ident),
        _ => None,
    };
    match last {
        Some(name) if name == "Payload" => Ok(PayloadAs::Raw),
        Some(name) if name == "Message" && kind == Kind::Message => Ok(PayloadAs::Message),
        Some(name) if name == "Message" => Err(Error::new_spanned(
            ty,
            "`#[on_join]` receives the join reply's response, not a message; \
             take `Payload` or a type that implements `Deserialize`",
        )),
        _ => Ok(PayloadAs::Typed),
    }
}

impl Handler {
    /// The return type as written, or `()`.
    pub(crate) fn output_ty(&self) -> Type {
        match &self.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => (**ty).clone(),
        }
    }

    /// The span diagnostics about the return value point at.
    pub(crate) fn output_span(&self) -> Span {
        match &self.output {
            ReturnType::Default => self.ident.span(),
            ReturnType::Type(_, ty) => ty.span(),
        }
    }

    /// For `#[on_call]`: the answer type and whether the handler returns a `Result` of it.
    pub(crate) fn answer(&self) -> (Type, bool) {
        let ty = self.output_ty();
        if let Type::Path(path) = &ty
            && let Some(seg) = path.path.segments.last().filter(|s| s.ident == "Result")
            && let syn::PathArguments::AngleBracketed(args) = &seg.arguments
            && let Some(syn::GenericArgument::Type(answer)) = args.args.first()
        {
            return (answer.clone(), true);
        }
        (ty, false)
    }

    /// The type of the parameter in `slot`, if the handler takes it.
    pub(crate) fn arg_ty(&self, slot: Slot) -> Option<&Type> {
        self.args.iter().find(|a| a.slot == slot).map(|a| &a.ty)
    }
}
