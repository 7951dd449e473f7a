struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_connect]
    fn first(&mut self) {}

    #[on_connect]
    fn second(&mut self) {}
}

fn main() {}
