//! Phoenix Channels over WebSocket for tokio.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod endpoint;
pub mod protocol;
