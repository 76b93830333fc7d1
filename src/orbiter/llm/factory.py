"""Build the adapter for a provider type: the one place that knows URLs and defaults per type."""

from __future__ import annotations

from orbiter.core.settings import Settings
from orbiter.llm.anthropic_adapter import AnthropicProvider
from orbiter.llm.base import Provider
from orbiter.llm.openai_adapter import OpenAIProvider

DEFAULT_BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "ollama": "http://localhost:11434",
}
DEFAULT_MODELS = {
    "openai": "gpt-4o-mini",
    "openai_compatible": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "ollama": "llama3.2",
}
# Names of the environment variables a sandbox's SDKs read, per provider type.
ENV_NAMES = {
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "openai_compatible": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
    "ollama": ("OLLAMA_API_KEY", "OLLAMA_HOST"),
}


def _strip(url: str, suffix: str) -> str:
    url = url.rstrip("/")
    return url[: -len(suffix)] if url.endswith(suffix) else url


def effective_base_url(type_: str, base_url: str | None) -> str:
    """The URL the adapter talks to: OpenAI-style ones end in /v1, Anthropic's and Ollama's do not."""
    url = (base_url or DEFAULT_BASE_URLS.get(type_, "")).rstrip("/")
    if type_ in ("anthropic", "ollama"):
        return _strip(url, "/v1")
    return url


def create_provider(
    *, type_: str, base_url: str | None, api_key: str | None, settings: Settings, label: str
) -> Provider:
    url = effective_base_url(type_, base_url)
    if type_ == "anthropic":
        return AnthropicProvider(base_url=url, api_key=api_key, settings=settings, label=label)
    if type_ == "ollama":
        return OpenAIProvider(
            base_url=url + "/v1",
            api_key=api_key or "ollama",
            settings=settings,
            label=label,
            ollama_root=url,
        )
    return OpenAIProvider(base_url=url, api_key=api_key, settings=settings, label=label)
