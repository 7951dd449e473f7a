#[slipstream::client(topics = ["rooms:lobby"])]
enum Listener {
    A,
}

fn main() {}
