use slipstream::Socket;

struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_leave]
    fn left(&mut self, socket: &mut Socket, topic: u32) {
        let _ = (socket, topic);
    }
}

fn main() {}
