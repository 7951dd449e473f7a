//! Compile-time behaviour of `#[slipstream::client]`: what compiles, and the error each
//! mistake gives. Run on the pinned toolchain; refresh `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p slipstream-macros --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
