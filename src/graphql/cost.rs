//! What the complexity estimate charges for database work, besides one point
//! per field: a request's estimate then grows with the statements it will
//! run, and --max-complexity bounds them.

/// A root lookup or a page: one indexed statement.
pub const STATEMENT: usize = 10;
/// totalCount: a COUNT over every matching row, the dearest read there is.
/// A page multiplies what its fields cost by its rows, totalCount included
/// (async-graphql sees no difference), so this is modest.
pub const COUNT: usize = 20;
