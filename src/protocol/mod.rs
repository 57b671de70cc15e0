//! Wire protocols ocicred speaks to its callers. Each is a thin adapter: it parses requests,
//! renders answers, and holds no lookup policy of its own.

pub mod bazel;
