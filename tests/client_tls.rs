//! `wss://` to a server with a self-signed certificate: trusted with a custom root, refused
//! without it.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use slipstream::{Config, ConnectError, Error, Session};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

struct TlsServer {
    url: String,
    cert: CertificateDer<'static>,
}

/// A TLS WebSocket server on 127.0.0.1 that answers one join per connection.
async fn tls_server() -> TlsServer {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("wss://{}/socket/websocket", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                while let Some(Ok(Message::Text(text))) = ws.next().await {
                    let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
                    if frame[3] == "phx_join" {
                        let reply = serde_json::json!([frame[0], frame[1], frame[2], "phx_reply", {"response": {}, "status": "ok"}]);
                        let _ = ws.send(Message::Text(reply.to_string().into())).await;
                    }
                }
            });
        }
    });
    TlsServer { url, cert }
}

#[tokio::test]
async fn wss_with_a_custom_root_connects_and_joins() {
    let server = tls_server().await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server.cert.clone()).unwrap();
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let config = Config::builder(&server.url)
        .tls(Arc::new(tls))
        .build()
        .unwrap();
    let mut session = Session::connect(config).await.unwrap();
    session
        .join("rooms:lobby", serde_json::json!({}))
        .await
        .unwrap();
    session.disconnect().await.unwrap();
}

#[tokio::test]
async fn wss_without_the_root_is_refused() {
    let server = tls_server().await;
    let err = Session::connect(Config::new(&server.url).unwrap())
        .await
        .unwrap_err();
    let Error::Connect(ConnectError::Tls(message)) = &err else {
        panic!("expected a TLS error, got {err}")
    };
    assert!(message.to_lowercase().contains("certificate"), "{message}");
}
