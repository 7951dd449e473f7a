use serde_json::Value;

struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_message(topic = "rooms:lobby")]
    fn message(&mut self, payload: Value, extra: u32) {
        let _ = (payload, extra);
    }
}

fn main() {}
