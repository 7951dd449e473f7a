//! Procedural macros for `slipstream`. Use them through the `slipstream` crate:
//! [`#[slipstream::client]`](macro@client).
//!
//! The crate is split by phase: `attr` parses the attribute arguments, `ast` parses the
//! item and its handlers into a typed model, `valid` checks the rules that span several
//! items, and `expand` generates code that cannot fail.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;

use crate::ast::{Errors, Input};
use crate::attr::ClientArgs;

/// Makes a struct a Phoenix Channels client: joins its topics on every connect, routes
/// messages to annotated handler methods and, with `#[repeat]`, re-broadcasts them.
///
/// The attribute generates the `slipstream::Client` impl, with `Info`, `Call` and `Answer` taken from
/// the `#[on_info]` and `#[on_call]` handlers (`()` without them), and an inherent
/// `start(self, config) -> ClientHandle<Self>` so callers need not import the trait. An impl
/// block that defines its own `start` gets none; `Client::start` is always there.
///
/// # A client with handlers
///
/// Put the attribute on the struct's impl block and mark methods with the callback they
/// serve. The payload parameter can be any type that implements `serde::Deserialize`:
///
/// ```no_run
/// use serde::Deserialize;
/// use serde_json::json;
/// use slipstream::{Config, Socket};
///
/// #[derive(Deserialize)]
/// struct NewMsg {
///     body: String,
/// }
///
/// #[derive(Default)]
/// struct Chat {
///     seen: u64,
/// }
///
/// #[slipstream::client(topics = ["rooms:lobby", "rooms:ops"])]
/// impl Chat {
///     #[on_message(topic = "rooms:*", event = "new_msg")]
///     async fn new_msg(&mut self, socket: &mut Socket, msg: NewMsg) -> slipstream::Result<()> {
///         self.seen += 1;
///         println!("{}", msg.body);
///         socket.push("rooms:lobby", "ack", json!({ "seen": self.seen })).await?;
///         Ok(())
///     }
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let chat = Chat::default().start(Config::new("ws://127.0.0.1:4000/socket/websocket")?);
/// chat.stopped().await;
/// # Ok(())
/// # }
/// ```
///
/// # A repeater
///
/// On a struct, the attribute needs no impl block. `#[repeat(to = ...)]` publishes every
/// message the client receives into an `slipstream::endpoint::Endpoint`, unchanged:
///
/// ```no_run
/// use std::sync::Arc;
/// use slipstream::endpoint::Endpoint;
///
/// #[slipstream::client(topics = ["rooms:lobby"])]
/// #[repeat(to = self.hub)]
/// struct Repeater {
///     hub: Arc<dyn Endpoint>,
/// }
///
/// # async fn run(hub: Arc<dyn Endpoint>) -> Result<(), Box<dyn std::error::Error>> {
/// let config = slipstream::Config::new("ws://upstream:4000/socket/websocket")?;
/// let repeater = Repeater { hub }.start(config);
/// # repeater.stopped().await;
/// # Ok(())
/// # }
/// ```
///
///
/// # `#[slipstream::client(...)]`
///
/// - `topics = ["rooms:lobby", ("rooms:ops", PARAMS)]`: the topics joined on every connect,
///   in order (joining a joined topic does nothing). A topic alone joins with `{}`; in a
///   pair, `PARAMS` is any expression that converts into a `Payload`, such as
///   `serde_json::json!({...})` or `self.params()`, evaluated on every connect.
/// - `dynamic_topics = ["users:*"]`: topics or `prefix*` patterns the client joins itself
///   at run time with `Socket::join`. The macro does not join them; it lets handlers and
///   `#[repeat]` name them.
///
/// # Handlers
///
/// A handler takes `&mut self`, then optionally the socket (`socket: &mut Socket`, the only
/// `&mut` parameter, always first), then the end of its callback's parameter list: leading
/// parameters may be left out, so `fn f(&mut self, msg: NewMsg)` and
/// `fn f(&mut self, socket: &mut Socket, topic: &str, msg: NewMsg)` are both message
/// handlers. A lone reference where the payload would go is the topic (`&SharedStr` or
/// `&str`). A handler may be `async` or not, and returns `()` or `slipstream::Result<()>`;
/// an error is logged and counted, and the client carries on.
///
/// | attribute | parameters after the socket |
/// | --- | --- |
/// | `#[on_connect]` | none; runs once the joins of the listed topics are sent (their replies reach `#[on_join]`) |
/// | `#[on_join(topic = "...")]` | `topic: &SharedStr`, `response: T` |
/// | `#[on_message(topic = "...", event = "...")]` | `topic: &SharedStr`, `payload: T` |
/// | `#[on_reply]` | `reference: SharedStr`, `reply: Result<Reply, ReplyError>` |
/// | `#[on_topic_close(topic = "...")]` | `topic: &SharedStr`, `reason: TopicCloseReason` |
/// | `#[on_leave(topic = "...")]` | `topic: &SharedStr` |
/// | `#[on_disconnect]` | `reason: &DisconnectReason` |
/// | `#[on_info]` | `info: T`, which becomes `Client::Info` |
/// | `#[on_call]` | `request: T`, which becomes `Client::Call`; returns `A` or `Result<A>`, and `A` becomes `Client::Answer` |
/// | `#[on_decode_error]` | `message: &Message`, `error: PayloadError` |
///
/// **Payloads.** `T` is decoded with `Payload::decode` for types that implement
/// `serde::Deserialize`; a parameter of type `Payload` gets the raw payload and, in a
/// message handler, one of type `Message` gets the whole message (both recognised by the
/// type's name). A payload that does not decode is counted in
/// `Counters::payload_errors` and passed to `#[on_decode_error]` (by default it is logged,
/// without the payload); the handler does not run.
///
/// **Routing.** `topic` is an exact topic, a `prefix*` pattern such as `"rooms:*"`, or
/// `"*"`; left out, it means every topic. `event` (messages only) left out means every
/// event. Each message runs exactly one handler, the most specific whose route matches:
/// first the routes with an event, then those without; within each, an exact topic, then
/// the longest matching prefix, then every topic. A message no route matches is ignored
/// (after `#[repeat]`). A method may carry several attributes of the same kind to serve
/// several routes. `#[on_join]`, `#[on_topic_close]` and `#[on_leave]` route by topic the
/// same way.
///
/// **Defaults kept.** After an `#[on_topic_close]` handler the default still rejoins a
/// crashed or timed-out topic (unless the handler left it), and after an `#[on_disconnect]`
/// handler the default still reconnects unless the disconnect was requested (call
/// `Socket::stop` in the handler to stop instead).
///
/// # `#[repeat(...)]`
///
/// Placed below `#[slipstream::client]`, on the struct or on the impl block; several may be
/// given.
///
/// - `to = EXPR` (required): the endpoint, any expression whose value implements
///   `Endpoint` or dereferences to one: a static, `self.field`, `Arc<Hub>`.
/// - `topics = ["rooms:lobby", "rooms:*"]`: repeat only these; by default every message
///   the client receives, on any topic it joined.
/// - `rename = "mirror:lobby"`: publish under another topic; needs exactly one repeated
///   topic.
///
/// Each message is published as a `Broadcast::from_message`: same topic (or the new name),
/// same event, the payload's bytes as they arrived (never parsed or re-encoded), no refs.
/// It happens in arrival order and before any handler runs for that message.
///
/// # Mistakes are compile errors
///
/// An unknown or repeated key, a topic that is not a string literal or is empty, a handler
/// with a signature that does not fit, a handler or `#[repeat(topics)]` for a topic the
/// client never joins, two handlers for one topic and event, `#[repeat]` without `to`, and
/// the attribute on an enum or a generic struct are each reported at the token at fault.
#[proc_macro_attribute]
pub fn client(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = match syn::parse::<ClientArgs>(args) {
        Ok(args) => Some(args),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    let item = match syn::parse::<syn::Item>(input.clone()) {
        Ok(item) => item,
        Err(error) => {
            errors.push(error);
            let mut output = proc_macro2::TokenStream::from(input);
            output.extend(errors.into_compile_errors());
            return output.into();
        }
    };
    let args_ok = args.is_some();
    let Some(input) = Input::from_syn(args.unwrap_or_default(), item.clone(), &mut errors) else {
        let mut output = quote::quote!(#item);
        output.extend(errors.into_compile_errors());
        return output.into();
    };
    if args_ok {
        valid::check(&input, &mut errors);
    }
    let mut output = if errors.is_empty() {
        expand::expand(&input)
    } else {
        expand::fallback(&input)
    };
    output.extend(errors.into_compile_errors());
    output.into()
}
