struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_message(topic = "rooms:lobby")]
    fn new_msg(&self, payload: slipstream::protocol::Payload) {
        let _ = payload;
    }
}

fn main() {}
