//! contacts-api: a GraphQL contacts service. The binary and the tests share
//! this library: HTTP -> GraphQL -> service -> entity/database.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod formats;
pub mod graphql;
pub mod http;
pub mod secret;
pub mod service;
