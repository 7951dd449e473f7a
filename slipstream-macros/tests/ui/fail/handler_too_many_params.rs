use slipstream::Socket;
use slipstream::protocol::SharedStr;

struct Chat;

#[slipstream::client(topics = ["rooms:lobby"])]
impl Chat {
    #[on_leave]
    fn left(&mut self, socket: &mut Socket, topic: &SharedStr, extra: u32) {
        let _ = (socket, topic, extra);
    }
}

fn main() {}
