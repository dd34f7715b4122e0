mod contact;
mod conversation;
mod duplicates;
mod import_file;
mod merge;

pub use contact::ContactMutation;
pub use conversation::ConversationMutation;
pub use duplicates::DuplicateMutation;
pub use import_file::ImportFileMutation;
pub use merge::MergeMutation;
