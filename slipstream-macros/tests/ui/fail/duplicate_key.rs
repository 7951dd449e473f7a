#[slipstream::client(topics = ["rooms:lobby"], topics = ["rooms:ops"])]
struct Listener;

fn main() {}
