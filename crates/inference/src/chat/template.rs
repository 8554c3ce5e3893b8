//! The ChatML prompt format (`<|im_start|>role\ncontent<|im_end|>\n`), as the GGUF
//! `tokenizer.chat_template` of SmolLM2 writes it.
//!
//! The Jinja template itself is not interpreted: a template that uses `<|im_start|>` is taken
//! to be ChatML, and the default system message it inserts when the conversation has none
//! (SmolLM2: "You are a helpful AI assistant named SmolLM, trained by Hugging Face") is read
//! out of it, so the rendered prompt equals what `apply_chat_template(...,
//! add_generation_prompt=True)` gives.

use crate::error::{Error, Result};

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The name ChatML uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its author.
    pub role: Role,
    /// Its text.
    pub content: String,
}

impl Message {
    /// A message.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// A ChatML template, with the default system message if the model's template has one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChatTemplate {
    /// Inserted first when the first message is not a system message.
    pub default_system: Option<String>,
}

const START: &str = "<|im_start|>";
const END: &str = "<|im_end|>";

impl ChatTemplate {
    /// Reads a GGUF `tokenizer.chat_template` (Jinja source). `None` (no template) gives plain
    /// ChatML; a template that is not ChatML is refused.
    pub fn from_jinja(source: Option<&str>) -> Result<Self> {
        let Some(source) = source else {
            return Ok(Self::default());
        };
        if !source.contains(START) {
            return Err(Error::Tokenizer(
                "the model's chat template is not ChatML (<|im_start|>); not supported".into(),
            ));
        }
        let marker = format!("{START}system\n");
        let default_system = source.find(&marker).and_then(|at| {
            let rest = &source[at + marker.len()..];
            let end = rest.find(END)?;
            let text = &rest[..end];
            // A literal string, not a `message['content']` expression.
            (!text.contains("{{") && !text.contains('\'') && !text.contains('+'))
                .then(|| text.to_owned())
        });
        Ok(Self { default_system })
    }

    /// The prompt for `messages`, ending with the assistant's turn opened.
    pub fn render(&self, messages: &[Message]) -> String {
        let mut out = String::new();
        let mut turn = |role: &str, content: &str| {
            out.push_str(START);
            out.push_str(role);
            out.push('\n');
            out.push_str(content);
            out.push_str(END);
            out.push('\n');
        };
        if let (Some(system), Some(first)) = (&self.default_system, messages.first())
            && first.role != Role::System
        {
            turn("system", system);
        }
        for m in messages {
            turn(m.role.as_str(), &m.content);
        }
        out.push_str(START);
        out.push_str("assistant\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn smollm2_template_adds_its_default_system_message() {
        let t = ChatTemplate::from_jinja(Some(SMOLLM2)).unwrap();
        assert_eq!(
            t.render(&[Message::new(Role::User, "Hi")]),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging \
             Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(
            t.render(&[
                Message::new(Role::System, "Be brief."),
                Message::new(Role::User, "Hi"),
                Message::new(Role::Assistant, "Hello."),
                Message::new(Role::User, "Bye"),
            ]),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
             <|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n\
             <|im_start|>assistant\n"
        );
    }

    #[test]
    fn plain_chatml_and_refusals() {
        let t = ChatTemplate::from_jinja(None).unwrap();
        assert_eq!(
            t.render(&[Message::new(Role::User, "x")]),
            "<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n"
        );
        let generic = "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n'}}{% endfor %}";
        assert_eq!(
            ChatTemplate::from_jinja(Some(generic))
                .unwrap()
                .default_system,
            None
        );
        assert!(ChatTemplate::from_jinja(Some("[INST] {{ m }} [/INST]")).is_err());
    }
}
