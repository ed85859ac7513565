//! The table of every operation, in `api/mod.rs`: the public `OperationId` (one variant per
//! operation, named like its builder) and the runtime's `OPERATIONS`, indexed by it, that
//! builders send their requests with and the check of the server's declarations reads.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::ident;
use crate::docs;
use crate::ir::{Api, Operation, Resource};

/// Every operation of `api`, in the order of `OPERATIONS` (resources sorted by name, each
/// one's operations in file order), the websocket operation included.
pub(super) fn all(api: &Api) -> impl Iterator<Item = (&Resource, &Operation)> {
    api.resources
        .iter()
        .flat_map(|r| r.operations.iter().map(move |o| (r, o)))
}

/// `OperationId` and `OPERATIONS`.
pub(super) fn table(api: &Api) -> TokenStream {
    let count = all(api).count();
    let mut variants = TokenStream::new();
    let mut entries = TokenStream::new();
    let mut all_ids = Vec::new();
    for (i, (r, o)) in all(api).enumerate() {
        let variant = ident(&o.builder_name);
        let name = format!("{}.{}", r.api_name, o.api_name);
        let since = &o.since;
        let doc = docs::attrs(&format!(
            "`{} {}` (`{name}`){}.",
            o.http_method.as_str(),
            o.path,
            if since.is_empty() {
                String::new()
            } else {
                format!(", since Asterisk {}", since.join(", "))
            }
        ));
        variants.extend(quote!(#doc #variant,));
        all_ids.push(quote!(OperationId::#variant));
        let index = Literal::u16_unsuffixed(u16::try_from(i).expect("fewer than 65536 operations"));
        let http = format_ident!("{}", format!("{:?}", o.http_method));
        let path = &o.path;
        let params = o.params.iter().map(|p| &p.api_name);
        let errors = o.errors.iter().map(|(c, reason)| {
            let c = Literal::u16_unsuffixed(*c);
            quote!((#c, #reason))
        });
        entries.extend(quote! {
            crate::rest::Operation {
                index: #index,
                name: #name,
                method: crate::rest::Method::#http,
                path: #path,
                params: &[#(#params),*],
                since: &[#(#since),*],
                errors: &[#(#errors),*],
            },
        });
    }
    let count_lit = Literal::usize_suffixed(count);
    let creators = creators(api);
    quote! {
        /// An operation of the specs this crate was generated from, named like its builder
        /// (`OperationId::ChannelOriginate` is `POST /channels`, built by
        /// [`Channels::originate`](crate::api::Channels::originate)). [`ServerApi`](crate::ServerApi)
        /// says whether the server serves it; its methods describe it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum OperationId {
            #variants
        }

        impl OperationId {
            /// Every operation, in the order of the specs (resources by name, then file order).
            pub const ALL: [OperationId; #count_lit] = [#(#all_ids),*];

            /// What the runtime knows of it.
            pub(crate) fn operation(self) -> &'static crate::rest::Operation {
                &OPERATIONS[self as usize]
            }
        }

        /// Every operation, indexed by [`OperationId`].
        pub(crate) static OPERATIONS: [crate::rest::Operation; #count_lit] = [#entries];

        #creators
    }
}

/// `CREATORS`: the domain table's creators (operations that create an object with an id the
/// caller may choose), for the runtime's layers that see requests rather than builders (a
/// relay that records who owns what it creates).
fn creators(api: &Api) -> TokenStream {
    let mut entries = Vec::new();
    for object in &api.objects {
        let Some(events) = &object.events else {
            continue;
        };
        let kind = ident(&object.name);
        for (op, param) in &events.creators {
            // `all`'s order: the operations of the resources before, then its own
            let index: usize = api.resources[..op.resource]
                .iter()
                .map(|r| r.operations.len())
                .sum::<usize>()
                + op.operation;
            let index =
                Literal::u16_unsuffixed(u16::try_from(index).expect("fewer than 65536 operations"));
            let (_, o) = api.operation(*op);
            let wire = &o
                .params
                .iter()
                .find(|p| p.name == *param)
                .expect("validated")
                .api_name;
            entries.push(quote!((#index, crate::ObjectKind::#kind, #wire)));
        }
    }
    let count = Literal::usize_suffixed(entries.len());
    quote! {
        /// The operations that create a domain object with an id the caller may choose: the
        /// operation's index in [`OPERATIONS`], the kind of object, and the wire name of the
        /// parameter (path or query) that holds the id.
        #[allow(dead_code)]
        pub(crate) static CREATORS: [(u16, crate::ObjectKind, &str); #count] = [#(#entries),*];
    }
}
