//! What the complexity estimate charges for database work, besides one point
//! per field: a request's estimate then grows with the statements it will
//! run, and --max-complexity bounds them.

/// A root lookup or a page: one indexed statement.
pub const STATEMENT: usize = 10;
/// A page of change-log entries (`first`: default 100, at most 1,000; a
/// larger one fails in the resolver): its statement plus its rows times
/// what each selects.
pub fn log_page(first: Option<i32>, child: usize) -> usize {
    let rows = first.unwrap_or(100).clamp(0, 1000) as usize;
    STATEMENT.saturating_add(rows.saturating_mul(child))
}

/// totalCount: a COUNT over every matching row, the dearest read there is.
/// A page multiplies what its fields cost by its rows, totalCount included
/// (async-graphql sees no difference), so this is modest.
pub const COUNT: usize = 20;
