struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_message(topic = "rooms:lobby", event = "phx_close")]
    fn closed(&mut self) {}
}

fn main() {}
