#[slipstream::client(topic = ["rooms:lobby"])]
struct Listener;

fn main() {}
