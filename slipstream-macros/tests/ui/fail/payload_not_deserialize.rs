struct NotSerde;

struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_message(topic = "rooms:lobby", event = "new_msg")]
    fn new_msg(&mut self, msg: NotSerde) {
        let _ = msg;
    }
}

fn main() {}
