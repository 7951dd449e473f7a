//! The listening side of the harness.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};

use super::ServerConn;
use crate::ConfigBuilder;
use crate::protocol::Serializer;

/// What the client sent with its upgrade request.
#[derive(Clone, Debug, Default)]
pub struct ConnectRequest {
    /// The request path, such as `/socket/websocket`.
    pub path: String,
    /// The query parameters, decoded.
    pub query: HashMap<String, String>,
    /// The request headers, names in lower case.
    pub headers: HashMap<String, String>,
}

impl ConnectRequest {
    fn from_request(request: &Request) -> Self {
        let uri = request.uri();
        let query = uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let headers = request
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        ConnectRequest {
            path: uri.path().to_owned(),
            query,
            headers,
        }
    }

    /// The serializer the client asked for with `vsn` (V1 when absent, as Phoenix decides).
    pub fn serializer(&self) -> Serializer {
        self.query
            .get("vsn")
            .and_then(|v| Serializer::from_vsn(v))
            .unwrap_or(Serializer::V1)
    }
}

/// A Phoenix-speaking server the test drives, on `127.0.0.1` and a free port.
pub struct TestServer {
    listener: TcpListener,
    addr: SocketAddr,
    timeout: Duration,
}

impl TestServer {
    /// Listens on `127.0.0.1:0`.
    ///
    /// # Errors
    ///
    /// The I/O error from binding.
    pub async fn bind() -> std::io::Result<Self> {
        Self::bind_to("127.0.0.1:0".parse().expect("a constant address parses")).await
    }

    /// Listens on `addr`: to restart a server on the port a client already knows.
    ///
    /// # Errors
    ///
    /// The I/O error from binding.
    pub async fn bind_to(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        Ok(TestServer {
            listener,
            addr,
            timeout: Duration::from_secs(1),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The WebSocket URL: `ws://127.0.0.1:PORT/socket/websocket`.
    pub fn url(&self) -> String {
        format!("ws://{}/socket/websocket", self.addr)
    }

    /// A config builder for [`TestServer::url`], with every default.
    pub fn config(&self) -> ConfigBuilder {
        crate::Config::builder(self.url())
    }

    /// How long `accept`, `refuse` and the assertions of the connections accepted after
    /// this call wait (1 s by default).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    async fn next_stream(&mut self, what: &str) -> TcpStream {
        match tokio::time::timeout(self.timeout, self.listener.accept()).await {
            Ok(Ok((stream, _))) => stream,
            Ok(Err(error)) => panic!("accepting {what}: {error}"),
            Err(_) => panic!(
                "expected {what} within {:?}, but the client did not connect",
                self.timeout
            ),
        }
    }

    /// Waits for the client to connect and accepts the WebSocket upgrade.
    ///
    /// # Panics
    ///
    /// When no connection comes within the timeout, or the upgrade fails.
    pub async fn accept(&mut self) -> ServerConn {
        let stream = self.next_stream("a connection").await;
        let seen = Arc::new(Mutex::new(ConnectRequest::default()));
        let record = seen.clone();
        let callback = move |request: &Request, mut response: Response| {
            let info = ConnectRequest::from_request(request);
            // Answer `phoenix` when offered, as Phoenix does for token-carrying clients.
            if info
                .headers
                .get("sec-websocket-protocol")
                .is_some_and(|p| p.split(',').any(|p| p.trim() == "phoenix"))
            {
                response.headers_mut().insert(
                    "sec-websocket-protocol",
                    HeaderValue::from_static("phoenix"),
                );
            }
            *record.lock().expect("lock") = info;
            Ok::<_, ErrorResponse>(response)
        };
        let ws = match tokio::time::timeout(
            self.timeout,
            tokio_tungstenite::accept_hdr_async(stream, callback),
        )
        .await
        {
            Ok(Ok(ws)) => ws,
            Ok(Err(error)) => panic!("WebSocket upgrade failed: {error}"),
            Err(_) => panic!("WebSocket upgrade not completed within {:?}", self.timeout),
        };
        let request = seen.lock().expect("lock").clone();
        ServerConn::new(ws, request, self.timeout)
    }

    /// Waits for the client to connect and refuses the upgrade with HTTP `status` (403 is
    /// what Phoenix answers when its socket's `connect` refuses), with `headers`.
    ///
    /// # Panics
    ///
    /// When no connection comes within the timeout.
    pub async fn refuse(&mut self, status: u16, headers: &[(&str, &str)]) -> ConnectRequest {
        let stream = self.next_stream("a connection to refuse").await;
        let seen = Arc::new(Mutex::new(ConnectRequest::default()));
        let record = seen.clone();
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let callback = move |request: &Request, _response: Response| {
            *record.lock().expect("lock") = ConnectRequest::from_request(request);
            let mut refusal = ErrorResponse::new(Some(String::new()));
            *refusal.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
            for (name, value) in &headers {
                if let (Ok(name), Ok(value)) = (
                    tokio_tungstenite::tungstenite::http::HeaderName::try_from(name.as_str()),
                    HeaderValue::try_from(value.as_str()),
                ) {
                    refusal.headers_mut().insert(name, value);
                }
            }
            Err(refusal)
        };
        let _ = tokio::time::timeout(
            self.timeout,
            tokio_tungstenite::accept_hdr_async(stream, callback),
        )
        .await;
        let request = seen.lock().expect("lock").clone();
        request
    }

    /// Waits for the next TCP connection and drops it before any upgrade.
    ///
    /// # Panics
    ///
    /// When no connection comes within the timeout.
    pub async fn drop_next(&mut self) {
        drop(self.next_stream("a connection to drop").await);
    }

    /// Passes when the client does not connect within `within`.
    ///
    /// # Panics
    ///
    /// When it does.
    pub async fn refute_connect(&mut self, within: Duration) {
        if let Ok(Ok((_, peer))) = tokio::time::timeout(within, self.listener.accept()).await {
            panic!("expected no connection within {within:?}, but {peer} connected");
        }
    }
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .finish()
    }
}
