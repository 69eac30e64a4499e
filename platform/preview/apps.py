from django.apps import AppConfig


class PreviewConfig(AppConfig):
    name = "preview"
    verbose_name = "Live preview"

    def ready(self) -> None:
        # The room's writes tell the workspace; the preview listens (web does not import it).
        from interviews.workspace import changed
        from preview.manager import workspace_changed

        changed.connect(workspace_changed, dispatch_uid="preview.workspace_changed")
        # The room's socket carries the terminal, which lives with the live session.
        from preview import terminal
        from web import terminal_port

        terminal_port.provider = terminal
