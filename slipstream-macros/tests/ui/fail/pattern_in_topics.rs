#[slipstream::client(topics = ["rooms:*"])]
struct Listener;

fn main() {}
