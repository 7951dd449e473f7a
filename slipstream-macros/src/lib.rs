//! Procedural macros for `slipstream`. Use them through the `slipstream` crate:
//! [`#[slipstream::client]`](macro@client).
//!
//! The crate is split by phase: `attr` parses the attribute arguments, `ast` parses the
//! item and its handlers into a typed model, `valid` checks the rules that span several
//! items, and `expand` generates code that cannot fail.

mod ast;
mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;

use crate::ast::{Errors, Input};
use crate::attr::ClientArgs;

/// Makes a struct a Phoenix Channels client: joins its topics on every connect, routes
/// messages to annotated handler methods and, with `#[repeat]`, re-broadcasts them.
#[proc_macro_attribute]
pub fn client(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = match syn::parse::<ClientArgs>(args) {
        Ok(args) => Some(args),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    let item = match syn::parse::<syn::Item>(input.clone()) {
        Ok(item) => item,
        Err(error) => {
            errors.push(error);
            let mut output = proc_macro2::TokenStream::from(input);
            output.extend(errors.into_compile_errors());
            return output.into();
        }
    };
    let args_ok = args.is_some();
    let Some(input) = Input::from_syn(args.unwrap_or_default(), item.clone(), &mut errors) else {
        let mut output = quote::quote!(#item);
        output.extend(errors.into_compile_errors());
        return output.into();
    };
    if args_ok {
        valid::check(&input, &mut errors);
    }
    let mut output = if errors.is_empty() {
        expand::expand(&input)
    } else {
        expand::fallback(&input)
    };
    output.extend(errors.into_compile_errors());
    output.into()
}
