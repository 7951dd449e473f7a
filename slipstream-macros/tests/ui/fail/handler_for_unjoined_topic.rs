struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_message(topic = "rooms:ops", event = "new_msg")]
    fn new_msg(&mut self) {}
}

fn main() {}
