struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_message(topic = "rooms:lobby", event = "new_msg")]
    fn first(&mut self) {}

    #[on_message(topic = "rooms:lobby", event = "new_msg")]
    fn second(&mut self) {}
}

fn main() {}
