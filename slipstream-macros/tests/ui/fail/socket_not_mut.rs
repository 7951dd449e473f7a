use slipstream::Socket;

struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_connect]
    fn connected(&mut self, socket: &Socket) {
        let _ = socket;
    }
}

fn main() {}
