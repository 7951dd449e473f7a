//! Code generation: the `Client` impl and the inherent `start` for a checked [`Input`].
//!
//! Nothing here fails; every mistake was reported by `ast` or `valid`. Generated code names
//! the runtime only through `::slipstream::__private`, and its local variables use
//! mixed-site hygiene so that user expressions spliced in (`to = ...`, join params) cannot
//! see or shadow them.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Ident, Type};

use crate::ast::{Arg, Handler, Input, Kind, PayloadAs, Route, Slot};
use crate::attr::{PatternKind, TopicPattern};

/// The local variables of the generated callbacks.
struct Locals {
    socket: Ident,
    message: Ident,
    topic: Ident,
    payload: Ident,
    reason: Ident,
    reference: Ident,
    reply: Ident,
    request: Ident,
    error: Ident,
    result: Ident,
}

impl Locals {
    fn new() -> Self {
        let local = |name: &str| Ident::new(name, Span::mixed_site());
        Locals {
            socket: local("__socket"),
            message: local("__message"),
            topic: local("__topic"),
            payload: local("__payload"),
            reason: local("__reason"),
            reference: local("__reference"),
            reply: local("__reply"),
            request: local("__request"),
            error: local("__error"),
            result: local("__result"),
        }
    }
}

/// The whole output: the user's item, the `Client` impl and `start`.
pub(crate) fn expand(input: &Input) -> TokenStream {
    let item = &input.item;
    let client = client_impl(input);
    let start = start_fn(input);
    quote! {
        #item
        #client
        #start
    }
}

/// The output after a mistake: the user's item, with an empty `Client` impl and `start` so
/// that code using the client reports no second error.
pub(crate) fn fallback(input: &Input) -> TokenStream {
    let item = &input.item;
    let self_ty = &input.self_ty;
    let start = start_fn(input);
    quote! {
        #[allow(dead_code)]
        #item
        #[::slipstream::__private::async_trait]
        impl ::slipstream::__private::Client for #self_ty {
            type Info = ();
            type Call = ();
            type Answer = ();
        }
        #start
    }
}

fn start_fn(input: &Input) -> TokenStream {
    if input.has_start {
        return TokenStream::new();
    }
    let self_ty = &input.self_ty;
    let vis = &input.vis;
    quote! {
        #[allow(unreachable_pub)]
        impl #self_ty {
            /// Starts the client: spawns its task on the current tokio runtime and returns
            /// its handle. The client connects at once.
            ///
            /// # Panics
            ///
            /// Outside a tokio runtime.
            #vis fn start(
                self,
                config: ::slipstream::__private::Config,
            ) -> ::slipstream::__private::ClientHandle<Self> {
                <Self as ::slipstream::__private::Client>::start(self, config)
            }
        }
    }
}

fn client_impl(input: &Input) -> TokenStream {
    let l = Locals::new();
    let self_ty = &input.self_ty;
    let (info, call, answer) = associated_types(input);
    let on_connect = on_connect(input, &l);
    let on_message = on_message(input, &l);
    let others = [
        on_join(input, &l),
        on_topic_close(input, &l),
        on_leave(input, &l),
        on_reply(input, &l),
        on_disconnect(input, &l),
        on_info(input, &l),
        on_call(input, &l),
        on_decode_error(input, &l),
    ];
    quote! {
        #[::slipstream::__private::async_trait]
        impl ::slipstream::__private::Client for #self_ty {
            type Info = #info;
            type Call = #call;
            type Answer = #answer;
            #on_connect
            #on_message
            #(#others)*
        }
    }
}

fn associated_types(input: &Input) -> (Type, Type, Type) {
    let unit: Type = syn::parse_quote!(());
    let find = |kind: Kind| input.handlers.iter().find(|h| h.kind == kind);
    let info = find(Kind::Info)
        .and_then(|h| h.arg_ty(Slot::Info).cloned())
        .unwrap_or_else(|| unit.clone());
    let call = find(Kind::Call)
        .and_then(|h| h.arg_ty(Slot::Call).cloned())
        .unwrap_or_else(|| unit.clone());
    let answer = find(Kind::Call).map_or(unit, |h| h.answer().0);
    (info, call, answer)
}

fn handlers(input: &Input, kind: Kind) -> impl Iterator<Item = &Handler> {
    input.handlers.iter().filter(move |h| h.kind == kind)
}

/// The call of `handler` with the arguments the callback has in scope, as an expression
/// of type `slipstream::Result<()>` (or `Result<Answer>` for `#[on_call]`).
fn call(handler: &Handler, l: &Locals) -> TokenStream {
    let ident = &handler.ident;
    let socket = handler.socket.map(|span| {
        let socket = located(&l.socket, span);
        quote!(#socket,)
    });
    let args = handler.args.iter().map(|arg| argument(arg, l));
    let await_ = handler.is_async.then(|| quote!(.await));
    let invoke = quote!(Self::#ident(self, #socket #(#args),*) #await_);
    let span = handler.output_span();
    match handler.kind {
        Kind::Call if handler.answer().1 => invoke,
        Kind::Call => quote_spanned!(span=> ::core::result::Result::Ok(#invoke)),
        _ => {
            // Named through the return type as written, so that a return type that is not
            // a `HandlerOutput` is reported there.
            let output = handler.output_ty();
            quote_spanned! {span=>
                <#output as ::slipstream::__private::HandlerOutput>::into_result(#invoke)
            }
        }
    }
}

/// The expression passed for one parameter; located at the parameter's type, so a type
/// mismatch is reported there.
fn argument(arg: &Arg, l: &Locals) -> TokenStream {
    let local = match arg.slot {
        Slot::Topic => &l.topic,
        Slot::Payload => &l.payload,
        Slot::Reference => &l.reference,
        Slot::Reply => &l.reply,
        Slot::Reason => &l.reason,
        Slot::Info | Slot::Call => &l.request,
        Slot::Message => &l.message,
        Slot::Error => &l.error,
    };
    let local = located(local, syn::spanned::Spanned::span(&arg.ty));
    quote!(#local)
}

/// `ident` with its hygiene kept and its location moved to `span`.
fn located(ident: &Ident, span: Span) -> Ident {
    Ident::new(&ident.to_string(), ident.span().located_at(span))
}

/// Binds `payload` for a handler that takes one, from the expression `source` (a
/// `Payload`); a typed payload that does not decode goes to `on_decode_error` and the
/// callback returns. `message` builds the message that hook receives.
fn bind_payload(
    handler: &Handler,
    source: &TokenStream,
    message: &TokenStream,
    l: &Locals,
) -> TokenStream {
    let Some(arg) = handler.args.iter().find(|a| a.slot == Slot::Payload) else {
        return TokenStream::new();
    };
    let (payload, socket, error, ty) = (&l.payload, &l.socket, &l.error, &arg.ty);
    match arg.payload {
        PayloadAs::Message | PayloadAs::Raw => quote!(let #payload = #source;),
        PayloadAs::Typed | PayloadAs::NotPayload => {
            let decode = quote_spanned! {syn::spanned::Spanned::span(ty)=>
                ::slipstream::__private::Payload::decode::<#ty>(&#source)
            };
            quote! {
                let #payload = match #decode {
                    ::core::result::Result::Ok(decoded) => decoded,
                    ::core::result::Result::Err(#error) => {
                        #socket.__record_payload_error();
                        let failed = #message;
                        <Self as ::slipstream::__private::Client>::on_decode_error(
                            self, #socket, &failed, #error,
                        ).await;
                        return ::core::result::Result::Ok(());
                    }
                };
            }
        }
    }
}

fn on_connect(input: &Input, l: &Locals) -> TokenStream {
    let socket = &l.socket;
    let joins = input.args.topics.iter().map(|topic| {
        let name = &topic.name;
        let params = match &topic.params {
            Some(params) => quote!(#params),
            None => quote!(::slipstream::__private::Payload::empty()),
        };
        quote!(#socket.join(#name, #params).await?;)
    });
    let user = match handlers(input, Kind::Connect).next() {
        Some(handler) => call(handler, l),
        None => quote!(::core::result::Result::Ok(())),
    };
    quote! {
        async fn on_connect(
            &mut self,
            #socket: &mut ::slipstream::__private::Socket,
        ) -> ::slipstream::__private::Result<()> {
            #(#joins)*
            #user
        }
    }
}

fn on_message(input: &Input, l: &Locals) -> TokenStream {
    if input.repeats.is_empty() && handlers(input, Kind::Message).next().is_none() {
        return TokenStream::new();
    }
    let (socket, message, topic, payload) = (&l.socket, &l.message, &l.topic, &l.payload);
    // Without message handlers nothing reads the message after the last repeat, which can
    // then take it instead of a clone: a pure repeater copies no message.
    let last_takes = handlers(input, Kind::Message).next().is_none();
    let last = input.repeats.len().saturating_sub(1);
    let repeats = input.repeats.iter().enumerate().map(|(at, repeat)| {
        let to = &repeat.to;
        let filter = match &repeat.topics {
            Some(topics) => any_topic(topics.iter(), message),
            None => quote!(true),
        };
        let source = if last_takes && at == last {
            quote!(#message)
        } else {
            quote!(#message.clone())
        };
        let forwarded = match &repeat.rename {
            Some(rename) => quote! {
                ::slipstream::__private::Message {
                    topic: ::slipstream::__private::SharedStr::from_static(#rename),
                    ..#source
                }
            },
            None => source,
        };
        // Spanned at the user's expression, so a value that is not an endpoint is reported there.
        let publish = quote_spanned! {to.span()=> (#to).publish};
        quote! {
            if #filter {
                use ::slipstream::__private::Endpoint as _;
                let _ = #publish(
                    ::slipstream::__private::Broadcast::from_message(#forwarded),
                    ::core::option::Option::None,
                );
            }
        }
    });
    let dispatch = dispatch(input, Kind::Message, l, |handler| {
        let bind = bind_payload(handler, &quote!(#message.payload), &quote!(#message), l);
        let bind = match handler.args.iter().find(|a| a.slot == Slot::Payload) {
            Some(arg) if arg.payload == PayloadAs::Message => quote!(let #payload = #message;),
            _ => bind,
        };
        let call = call(handler, l);
        let topic = handler
            .arg_ty(Slot::Topic)
            .map(|_| quote!(let #topic = &#message.topic.clone();));
        quote! {
            #topic
            #bind
            #call
        }
    });
    quote! {
        async fn on_message(
            &mut self,
            #socket: &mut ::slipstream::__private::Socket,
            #message: ::slipstream::__private::Message,
        ) -> ::slipstream::__private::Result<()> {
            #(#repeats)*
            #dispatch
        }
    }
}

/// `true` when the topic of `message` matches any of `patterns`.
fn any_topic<'a>(patterns: impl Iterator<Item = &'a TopicPattern>, message: &Ident) -> TokenStream {
    let conditions = patterns.map(|p| topic_condition(Some(p), &quote!(#message.topic)));
    quote!(false #(|| #conditions)*)
}

fn topic_condition(pattern: Option<&TopicPattern>, topic: &TokenStream) -> TokenStream {
    match pattern.map(|p| &p.kind) {
        None => quote!(true),
        Some(PatternKind::Exact(exact)) => quote!(#topic.as_str() == #exact),
        Some(PatternKind::Prefix(prefix)) if prefix.is_empty() => quote!(true),
        Some(PatternKind::Prefix(prefix)) => quote!(#topic.as_str().starts_with(#prefix)),
    }
}

/// How specific a route is; lower runs first. An event beats no event; then an exact
/// topic, then the longest prefix, then any topic.
fn specificity(route: &Route) -> (bool, u8, std::cmp::Reverse<usize>) {
    let topic = match route.topic.as_ref().map(|t| &t.kind) {
        Some(PatternKind::Exact(_)) => (0, 0),
        Some(PatternKind::Prefix(prefix)) if !prefix.is_empty() => (1, prefix.len()),
        _ => (2, 0),
    };
    (route.event.is_none(), topic.0, std::cmp::Reverse(topic.1))
}

/// A labeled block that runs the most specific handler of `kind` whose route matches the
/// topic (and event) in scope, or evaluates to `Ok(())`. `body` is the handler's call.
fn dispatch(
    input: &Input,
    kind: Kind,
    l: &Locals,
    body: impl Fn(&Handler) -> TokenStream,
) -> TokenStream {
    let mut routes: Vec<(&Route, &Handler)> = handlers(input, kind)
        .flat_map(|h| h.routes.iter().map(move |r| (r, h)))
        .collect();
    routes.sort_by_key(|(route, _)| specificity(route));
    let label = syn::Lifetime::new("'dispatch", Span::mixed_site());
    let (message, topic) = (&l.message, &l.topic);
    let topic_expr = match kind {
        Kind::Message => quote!(#message.topic),
        _ => quote!(#topic),
    };
    let branches = routes.into_iter().map(|(route, handler)| {
        let topic = topic_condition(route.topic.as_ref(), &topic_expr);
        let event = match &route.event {
            Some(event) => quote!(#message.event.as_str() == #event),
            None => quote!(true),
        };
        let body = body(handler);
        quote! {
            if #topic && #event {
                break #label { #body };
            }
        }
    });
    quote! {
        #label: {
            #(#branches)*
            ::core::result::Result::Ok(())
        }
    }
}

fn on_join(input: &Input, l: &Locals) -> TokenStream {
    if handlers(input, Kind::Join).next().is_none() {
        return TokenStream::new();
    }
    let (socket, topic, response) = (
        &l.socket,
        &l.topic,
        format_ident!("__response", span = Span::mixed_site()),
    );
    let dispatch = dispatch(input, Kind::Join, l, |handler| {
        let failed = quote! {
            ::slipstream::__private::Message::broadcast(#topic.clone(), "phx_reply", #response)
        };
        let bind = bind_payload(handler, &quote!(#response), &failed, l);
        let call = call(handler, l);
        quote!(#bind #call)
    });
    quote! {
        async fn on_join(
            &mut self,
            #socket: &mut ::slipstream::__private::Socket,
            #topic: &::slipstream::__private::SharedStr,
            #response: ::slipstream::__private::Payload,
        ) -> ::slipstream::__private::Result<()> {
            #dispatch
        }
    }
}

fn on_topic_close(input: &Input, l: &Locals) -> TokenStream {
    if handlers(input, Kind::TopicClose).next().is_none() {
        return TokenStream::new();
    }
    let (socket, topic, reason, result) = (&l.socket, &l.topic, &l.reason, &l.result);
    let dispatch = dispatch(input, Kind::TopicClose, l, |handler| {
        let call = call(handler, l);
        let reason = handler
            .arg_ty(Slot::Reason)
            .map(|_| quote!(let #reason = ::core::clone::Clone::clone(&#reason);));
        quote!(#reason #call)
    });
    quote! {
        async fn on_topic_close(
            &mut self,
            #socket: &mut ::slipstream::__private::Socket,
            #topic: &::slipstream::__private::SharedStr,
            #reason: ::slipstream::__private::TopicCloseReason,
        ) -> ::slipstream::__private::Result<()> {
            let #result: ::slipstream::__private::Result<()> = #dispatch;
            // The default rejoin still runs, unless the handler left the topic.
            if #socket.join_status(#topic) != ::slipstream::__private::JoinStatus::NotJoined {
                let default = ::slipstream::__private::Client::on_topic_close(
                    &mut ::slipstream::__private::Defaults, #socket, #topic, #reason,
                ).await;
                return #result.and(default);
            }
            #result
        }
    }
}

fn on_leave(input: &Input, l: &Locals) -> TokenStream {
    if handlers(input, Kind::Leave).next().is_none() {
        return TokenStream::new();
    }
    let (socket, topic) = (&l.socket, &l.topic);
    let dispatch = dispatch(input, Kind::Leave, l, |handler| call(handler, l));
    quote! {
        async fn on_leave(
            &mut self,
            #socket: &mut ::slipstream::__private::Socket,
            #topic: &::slipstream::__private::SharedStr,
        ) -> ::slipstream::__private::Result<()> {
            #dispatch
        }
    }
}

fn on_reply(input: &Input, l: &Locals) -> TokenStream {
    let Some(handler) = handlers(input, Kind::Reply).next() else {
        return TokenStream::new();
    };
    let (socket, reference, reply) = (&l.socket, &l.reference, &l.reply);
    let call = call(handler, l);
    quote! {
        async fn on_reply(
            &mut self,
            #socket: &mut ::slipstream::__private::Socket,
            #reference: ::slipstream::__private::SharedStr,
            #reply: ::core::result::Result<
                ::slipstream::__private::Reply,
                ::slipstream::__private::ReplyError,
            >,
        ) -> ::slipstream::__private::Result<()> {
            #call
        }
    }
}

fn on_disconnect(input: &Input, l: &Locals) -> TokenStream {
    let Some(handler) = handlers(input, Kind::Disconnect).next() else {
        return TokenStream::new();
    };
    let (socket, reason, result) = (&l.socket, &l.reason, &l.result);
    let call = call(handler, l);
    quote! {
        async fn on_disconnect(
            &mut self,
            #socket: &mut ::slipstream::__private::Socket,
            #reason: &::slipstream::__private::DisconnectReason,
        ) -> ::slipstream::__private::Result<()> {
            let #result = #call;
            // The default reconnect still runs after the handler.
            let default = ::slipstream::__private::Client::on_disconnect(
                &mut ::slipstream::__private::Defaults, #socket, #reason,
            ).await;
            #result.and(default)
        }
    }
}

fn on_info(input: &Input, l: &Locals) -> TokenStream {
    let Some(handler) = handlers(input, Kind::Info).next() else {
        return TokenStream::new();
    };
    let (socket, request) = (&l.socket, &l.request);
    let call = call(handler, l);
    quote! {
        async fn on_info(
            &mut self,
            #socket: &mut ::slipstream::__private::Socket,
            #request: Self::Info,
        ) -> ::slipstream::__private::Result<()> {
            #call
        }
    }
}

fn on_call(input: &Input, l: &Locals) -> TokenStream {
    let Some(handler) = handlers(input, Kind::Call).next() else {
        return TokenStream::new();
    };
    let (socket, request) = (&l.socket, &l.request);
    let call = call(handler, l);
    quote! {
        async fn on_call(
            &mut self,
            #socket: &mut ::slipstream::__private::Socket,
            #request: Self::Call,
        ) -> ::slipstream::__private::Result<Self::Answer> {
            #call
        }
    }
}

fn on_decode_error(input: &Input, l: &Locals) -> TokenStream {
    let Some(handler) = handlers(input, Kind::DecodeError).next() else {
        return TokenStream::new();
    };
    let (socket, message, error) = (&l.socket, &l.message, &l.error);
    let call = call(handler, l);
    quote! {
        async fn on_decode_error(
            &mut self,
            #socket: &mut ::slipstream::__private::Socket,
            #message: &::slipstream::__private::Message,
            #error: ::slipstream::__private::PayloadError,
        ) {
            if let ::core::result::Result::Err(error) = #call {
                ::slipstream::__private::tracing::warn!(
                    target: "slipstream::client",
                    callback = "on_decode_error",
                    %error,
                    "callback returned an error"
                );
            }
        }
    }
}
