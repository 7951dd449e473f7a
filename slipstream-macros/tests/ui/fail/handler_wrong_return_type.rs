struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_connect]
    fn connected(&mut self) -> u32 {
        7
    }
}

fn main() {}
