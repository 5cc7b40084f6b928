"""The voice loop: an OpenAI-compatible LLM's streamed reply, made speakable and spoken
sentence by sentence as it arrives. Protocol routes (HTTP, WebSocket) sit on top."""

from vocalis.chat.client import ChatClient, Completion
from vocalis.chat.conversation import Conversation
from vocalis.chat.errors import LLMFailed, LLMNotConfigured, LLMTimeout, LLMUnavailable
from vocalis.chat.markdown import MarkdownSpeech, speakable
from vocalis.chat.reply import Audio, ReplyEvent, SpokenReply, TextDelta, TextDone

__all__ = [
    "Audio",
    "ChatClient",
    "Completion",
    "Conversation",
    "LLMFailed",
    "LLMNotConfigured",
    "LLMTimeout",
    "LLMUnavailable",
    "MarkdownSpeech",
    "ReplyEvent",
    "SpokenReply",
    "TextDelta",
    "TextDone",
    "speakable",
]
