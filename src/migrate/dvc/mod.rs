//! Adopting a DVC repository: its metadata (`.dvc` files, `dvc.yaml`, config; [`meta`]),
//! where each file's bytes are ([`resolve`]), DVC's md5-addressed cache and remotes
//! ([`objects`]), and the new commit ([`apply`]).

pub(crate) mod apply;
pub(crate) mod meta;
pub(crate) mod objects;
pub(crate) mod resolve;
