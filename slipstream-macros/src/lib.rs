//! Procedural macros for `slipstream`. Use them through the `slipstream` crate.

use proc_macro::TokenStream;

/// Placeholder until the DSL lands.
#[proc_macro_attribute]
pub fn client(_args: TokenStream, input: TokenStream) -> TokenStream {
    input
}
