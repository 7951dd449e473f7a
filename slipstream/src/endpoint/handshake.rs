//! The WebSocket upgrade: path, `vsn`, the `phoenix` subprotocol and its auth token, and
//! the connect hook.

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::hooks::ConnectInfo;
use super::server::{Counters, Shared};
use crate::protocol::Serializer;

/// The subprotocol phoenix.js offers, and the server answers, when it sends an auth token.
const PHOENIX_PROTOCOL: &str = "phoenix";
/// The prefix of the subprotocol that carries phoenix.js's `authToken`.
const TOKEN_PREFIX: &str = "base64url.bearer.phx.";

/// Standard base64, with or without padding, as phoenix.js writes the token.
const TOKEN_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// tungstenite's read buffer is allocated up front for every connection; phoenix.js frames
/// are small, and a larger frame grows the buffer only while it is being read.
const READ_BUFFER: usize = 4 * 1024;
/// Frames are gathered up to this size before a write to the socket; a flush writes the
/// rest.
const WRITE_BUFFER: usize = 8 * 1024;

/// Performs the upgrade. `None` when it failed or was refused (already counted and logged).
pub(crate) async fn accept(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
) -> Option<(WebSocketStream<TcpStream>, ConnectInfo)> {
    let mut info = None;
    #[allow(
        clippy::result_large_err,
        reason = "tungstenite's callback signature fixes the error type"
    )]
    let callback = |request: &Request, response: Response| {
        let (accepted, response) = check(shared, peer, request, response)?;
        info = Some(accepted);
        Ok(response)
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_frame_size(Some(shared.config.max_frame_size))
        .max_message_size(Some(shared.config.max_frame_size));

    let upgrade = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config));
    let result = tokio::time::timeout(shared.config.handshake_timeout, upgrade).await;
    match result {
        Ok(Ok(ws)) => Some((ws, info?)),
        Ok(Err(error)) => {
            tracing::debug!(%peer, %error, "websocket upgrade failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "websocket upgrade timed out");
            None
        }
    }
}

/// Checks an upgrade request and builds the response, or the refusal.
#[allow(
    clippy::result_large_err,
    reason = "tungstenite's callback signature fixes the error type"
)]
fn check(
    shared: &Shared,
    peer: SocketAddr,
    request: &Request,
    mut response: Response,
) -> Result<(ConnectInfo, Response), ErrorResponse> {
    let refuse = |status: StatusCode, reason: &str| {
        Counters::bump(&shared.stats.refused);
        tracing::info!(%peer, status = status.as_u16(), reason, "websocket upgrade refused");
        refusal(status, reason)
    };

    if request.uri().path() != shared.config.path {
        return Err(refuse(StatusCode::NOT_FOUND, "no socket at this path"));
    }
    let params = query_params(request);
    let serializer = match params.iter().find(|(k, _)| k == "vsn") {
        None => shared.config.default_serializer,
        Some((_, vsn)) => Serializer::from_vsn(vsn)
            .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "unsupported vsn"))?,
    };
    let (phoenix, auth_token) = subprotocols(request)
        .map_err(|()| refuse(StatusCode::FORBIDDEN, "malformed auth token"))?;

    let info = ConnectInfo {
        peer_addr: peer,
        params,
        headers: request.headers().clone(),
        auth_token,
        serializer,
    };
    if let Some(hook) = &shared.config.on_connect {
        hook(&info).map_err(|refusal| refuse(StatusCode::FORBIDDEN, refusal.reason()))?;
    }
    if phoenix {
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(PHOENIX_PROTOCOL),
        );
    }
    Ok((info, response))
}

fn refusal(status: StatusCode, reason: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(reason.to_owned()));
    *response.status_mut() = status;
    response
}

fn query_params(request: &Request) -> Vec<(String, String)> {
    let query = request.uri().query().unwrap_or("");
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Whether the client offered the `phoenix` subprotocol, and the auth token it carried.
/// `Err` for a token that is not base64 of UTF-8.
fn subprotocols(request: &Request) -> Result<(bool, Option<String>), ()> {
    let offered = request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim);

    let mut phoenix = false;
    let mut token = None;
    for protocol in offered {
        if protocol == PHOENIX_PROTOCOL {
            phoenix = true;
        } else if let Some(encoded) = protocol.strip_prefix(TOKEN_PREFIX) {
            token = Some(decode_token(encoded)?);
        }
    }
    Ok((phoenix, token))
}

fn decode_token(encoded: &str) -> Result<String, ()> {
    let bytes = TOKEN_ENGINE.decode(encoded).map_err(|_| ())?;
    String::from_utf8(bytes).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose;

    use super::*;

    /// Encodes a token as phoenix.js does.
    fn encode_token(token: &str) -> String {
        general_purpose::STANDARD_NO_PAD.encode(token)
    }

    fn request(protocols: &str) -> Request {
        Request::builder()
            .uri("/socket/websocket?vsn=2.0.0")
            .header(header::SEC_WEBSOCKET_PROTOCOL, protocols)
            .body(())
            .unwrap()
    }

    #[test]
    fn reads_the_phoenix_subprotocol_and_token() {
        let offered = format!("phoenix, {TOKEN_PREFIX}{}", encode_token("s3cret?>"));
        let (phoenix, token) = subprotocols(&request(&offered)).unwrap();
        assert!(phoenix);
        assert_eq!(token.as_deref(), Some("s3cret?>"));
    }

    #[test]
    fn accepts_padded_tokens_and_rejects_garbage() {
        let padded = format!("{TOKEN_PREFIX}{}", general_purpose::STANDARD.encode("ab"));
        assert_eq!(
            subprotocols(&request(&padded)).unwrap().1.as_deref(),
            Some("ab")
        );
        assert!(subprotocols(&request(&format!("{TOKEN_PREFIX}!!!"))).is_err());
    }
}
