#[slipstream::client(topics = [rooms_lobby])]
struct Listener;

fn main() {}
