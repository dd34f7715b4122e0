//! Bounds on a parsed document, checked before async-graphql validates it.
//!
//! Validation and the complexity estimate walk every fragment spread where it
//! is used, so a 1 KB document of fragments that each spread the next one
//! twice expands to 2^25 fields and costs seconds of CPU before any limit
//! answers. Here every fragment is counted once (memoised), so the check is
//! linear in the document's size whatever it would expand to.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::Name;
use async_graphql::Positioned;

use crate::error::AppError;

/// What one document may carry (each has a command-line flag).
#[derive(Debug, Clone, Copy)]
pub struct DocumentBounds {
    /// Largest document text, in bytes (`--max-document-bytes`).
    pub max_bytes: usize,
    /// Most fields once every fragment spread is expanded, over all the
    /// document's operations (`--max-fields`).
    pub max_fields: usize,
    /// Most fields at an operation's root, fragments expanded
    /// (`--max-root-fields`): each root query field runs its own statements.
    pub max_root_fields: usize,
    /// Most aliased fields, fragments expanded (`--max-aliases`).
    pub max_aliases: usize,
}

/// What a selection set amounts to once its fragment spreads are expanded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    /// Fields at every level.
    fields: usize,
    /// Fields directly in the set (through fragments too).
    top: usize,
    /// Fields that carry an alias, at every level.
    aliases: usize,
}

impl Counts {
    fn add(self, other: Counts) -> Counts {
        Counts {
            fields: self.fields.saturating_add(other.fields),
            top: self.top.saturating_add(other.top),
            aliases: self.aliases.saturating_add(other.aliases),
        }
    }
}

impl DocumentBounds {
    /// The text's size, before it is parsed.
    pub fn check_size(&self, query: &str) -> Result<(), AppError> {
        if query.len() > self.max_bytes {
            return Err(AppError::LimitExceeded(format!(
                "the document is {} bytes; at most {} are accepted (--max-document-bytes)",
                query.len(),
                self.max_bytes
            )));
        }
        Ok(())
    }

    /// The parsed document's expanded size, over every operation it holds
    /// (validation visits them all, not only the one that runs).
    pub fn check(&self, doc: &ExecutableDocument) -> Result<(), AppError> {
        let mut counter = Counter {
            fragments: &doc.fragments,
            memo: HashMap::new(),
            depth: 0,
            too_deep: false,
        };
        let mut total = Counts::default();
        let operations: Vec<&SelectionSet> = match &doc.operations {
            DocumentOperations::Single(op) => vec![&op.node.selection_set.node],
            DocumentOperations::Multiple(ops) => {
                ops.values().map(|op| &op.node.selection_set.node).collect()
            }
        };
        for set in operations {
            let counts = counter.set(set);
            if counts.top > self.max_root_fields {
                return Err(AppError::LimitExceeded(format!(
                    "an operation selects {} root fields (fragments expanded); at most {} are accepted (--max-root-fields)",
                    counts.top, self.max_root_fields
                )));
            }
            total = total.add(counts);
        }
        if counter.too_deep {
            return Err(AppError::LimitExceeded(format!(
                "selections and fragments nest deeper than {MAX_NESTING} levels"
            )));
        }
        if total.fields > self.max_fields {
            return Err(AppError::LimitExceeded(format!(
                "the document selects {} fields once its fragments are expanded; at most {} are accepted (--max-fields)",
                display(total.fields),
                self.max_fields
            )));
        }
        if total.aliases > self.max_aliases {
            return Err(AppError::LimitExceeded(format!(
                "the document has {} aliased fields (fragments expanded); at most {} are accepted (--max-aliases)",
                display(total.aliases),
                self.max_aliases
            )));
        }
        Ok(())
    }
}

fn display(n: usize) -> String {
    if n == usize::MAX {
        "more than 2^64".into()
    } else {
        n.to_string()
    }
}

/// Deepest nesting of selection sets and fragment spreads counted; deeper
/// documents are refused (the count recurses, and a chain of a thousand
/// fragments would otherwise recurse a thousand deep).
const MAX_NESTING: usize = 64;

struct Counter<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// Per fragment: its counts, or None while it is being counted (a cycle,
    /// which validation reports; it adds nothing here).
    memo: HashMap<&'a str, Option<Counts>>,
    depth: usize,
    too_deep: bool,
}

impl<'a> Counter<'a> {
    fn set(&mut self, set: &'a SelectionSet) -> Counts {
        if self.depth >= MAX_NESTING {
            self.too_deep = true;
            return Counts::default();
        }
        self.depth += 1;
        let counts = self.items(set);
        self.depth -= 1;
        counts
    }

    fn items(&mut self, set: &'a SelectionSet) -> Counts {
        let mut counts = Counts::default();
        for item in &set.items {
            let add = match &item.node {
                Selection::Field(field) => {
                    let inner = self.set(&field.node.selection_set.node);
                    Counts {
                        fields: inner.fields.saturating_add(1),
                        top: 1,
                        aliases: inner
                            .aliases
                            .saturating_add(usize::from(field.node.alias.is_some())),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str())
                }
                Selection::InlineFragment(inline) => self.set(&inline.node.selection_set.node),
            };
            counts = counts.add(add);
        }
        counts
    }

    fn fragment(&mut self, name: &'a str) -> Counts {
        match self.memo.get(name) {
            Some(Some(counts)) => return *counts,
            Some(None) => return Counts::default(),
            None => {}
        }
        let Some(fragment) = self.fragments.get(name) else {
            // Unknown fragment: validation reports it.
            return Counts::default();
        };
        self.memo.insert(name, None);
        let counts = self.set(&fragment.node.selection_set.node);
        self.memo.insert(name, Some(counts));
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNDS: DocumentBounds = DocumentBounds {
        max_bytes: 100_000,
        max_fields: 1_000,
        max_root_fields: 10,
        max_aliases: 20,
    };

    fn check(source: &str) -> Result<(), String> {
        let doc = async_graphql::parser::parse_query(source).unwrap();
        BOUNDS.check(&doc).map_err(|e| e.to_string())
    }

    /// `query { ...F0 }` where each F(i) spreads F(i+1) twice: 2^levels fields.
    pub fn doubling_fragments(levels: usize) -> String {
        let mut doc = String::from("query { ...F0 }\n");
        for i in 0..levels {
            doc.push_str(&format!(
                "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        doc.push_str(&format!(
            "fragment F{levels} on Query {{ contactTypes {{ value }} }}\n"
        ));
        doc
    }

    #[test]
    fn doubling_fragments_are_counted_without_being_expanded() {
        assert!(check(&doubling_fragments(3)).is_ok());
        let error = check(&doubling_fragments(25)).unwrap_err();
        assert!(error.contains("--max-root-fields"), "{error}");
        // Deep enough to overflow any counter: still answered, at once.
        let error = check(&doubling_fragments(60)).unwrap_err();
        assert!(error.contains("--max-root-fields"), "{error}");
        let error = check(&doubling_fragments(200)).unwrap_err();
        assert!(error.contains("nest deeper"), "{error}");
    }

    #[test]
    fn nested_expansion_counts_against_max_fields() {
        let mut doc = String::from("query { contacts { nodes { ...F0 } } }\n");
        for i in 0..12 {
            doc.push_str(&format!(
                "fragment F{i} on Contact {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        doc.push_str("fragment F12 on Contact { id }\n");
        let error = check(&doc).unwrap_err();
        assert!(error.contains("--max-fields"), "{error}");
    }

    #[test]
    fn aliases_and_root_fields_are_bounded() {
        let aliases: String = (0..21).map(|i| format!("a{i}: id ")).collect();
        let error = check(&format!("{{ contacts {{ nodes {{ {aliases} }} }} }}")).unwrap_err();
        assert!(error.contains("--max-aliases"), "{error}");
        let roots: String = (0..11)
            .map(|i| format!("r{i}: contactTypes {{ value }} "))
            .collect();
        let error = check(&format!("{{ {roots} }}")).unwrap_err();
        assert!(error.contains("--max-root-fields"), "{error}");
        // Every operation counts, not only the one that runs.
        let two = format!("query A {{ __typename }} query B {{ {roots} }}");
        assert!(check(&two).is_err());
    }

    #[test]
    fn long_fragment_chains_are_refused_without_deep_recursion() {
        let n = 5_000;
        let mut doc = String::from("query { ...F0 }\n");
        for i in 0..n {
            doc.push_str(&format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1));
        }
        doc.push_str(&format!("fragment F{n} on Query {{ __typename }}\n"));
        let error = check(&doc).unwrap_err();
        assert!(error.contains("nest deeper"), "{error}");
    }

    #[test]
    fn cycles_and_unknown_fragments_are_left_to_validation() {
        assert!(
            check("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }").is_ok()
        );
        assert!(check("{ ...Nope }").is_ok());
    }

    #[test]
    fn size_is_checked_on_the_text() {
        assert!(BOUNDS.check_size(&"x".repeat(100_000)).is_ok());
        let error = BOUNDS
            .check_size(&"x".repeat(100_001))
            .unwrap_err()
            .to_string();
        assert!(error.contains("--max-document-bytes"), "{error}");
    }
}
