"""The built-in coding agent: the run engine's agent loop with tools bound to one sandbox.

    from orbiter.coding import SandboxWorkspace, process_host, run_coding_agent

    async def my_executor(ctx: RunContext) -> dict[str, Any]:      # a background run
        host = process_host(ctx.settings)          # this process's sandboxes
        workspace = SandboxWorkspace(host, sandbox_id)   # files in host.work_dir(sandbox_id)
        result = await run_coding_agent(
            ctx, workspace, prompt="Fix the failing test", provider_id=None, model=None
        )
        result.text, result.steps                  # the agent's last answer, steps taken

The tools (`workspace_tools`): `list_files`, `read_file`, `write_file`, `search_files` (grep)
and `run_command` (bash). Every one of them runs as a command inside the sandbox (bubblewrap,
with the sandbox limits of the settings: wall clock, CPU, memory, processes, disk quota, no
network unless the operator allows it), so a path or a link the model makes up can only ever
reach the sandbox's own files. Paths are relative to the sandbox's home (`/home/user`).

Each model turn, LLM call and tool call is a span in the run's trace (`step`, `llm`, `tool`),
as for any agent run; `ctx.steps`/`max_steps` cap the turns and a cancel of the run stops the
loop and kills the command running in the sandbox. The provider and model: `provider_id`
when the run's user owns it, else their default provider (503 when they have none), with
`model` or the provider's default model. `on_tool` (optional) is told about each call
(name, arguments) before it runs, e.g. to log it.
"""

from orbiter.coding.agent import SYSTEM_PROMPT, CodingResult, run_coding_agent
from orbiter.coding.tools import workspace_tools
from orbiter.coding.workspace import SandboxWorkspace, process_host, use_host

__all__ = [
    "SYSTEM_PROMPT",
    "CodingResult",
    "SandboxWorkspace",
    "process_host",
    "run_coding_agent",
    "use_host",
    "workspace_tools",
]
