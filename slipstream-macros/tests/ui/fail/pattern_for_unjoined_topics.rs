struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_message(topic = "users:*")]
    fn user_event(&mut self) {}
}

fn main() {}
