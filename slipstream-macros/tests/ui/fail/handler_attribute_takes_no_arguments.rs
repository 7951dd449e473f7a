struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_connect(topic = "rooms:lobby")]
    fn connected(&mut self) {}
}

fn main() {}
