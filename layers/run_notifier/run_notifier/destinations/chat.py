"""What every chat destination (Slack, Teams, Discord) says, written once: the run's message, the same
message headed "still running" for a stuck run, and a titled list of lines for a missed schedule and
for what quiet hours held. A chat kind says only how it posts a run's message and a list.
"""

from __future__ import annotations

from run_notifier.destinations.rendering import Rendering, renders
from run_notifier.destinations.run_facts import with_stuck
from run_notifier.destinations.schedule_facts import chat_lines, chat_title
from run_notifier.domain.announcements import (
    HeldSummaryAnnouncement,
    MissedScheduleAnnouncement,
    RunEndAnnouncement,
    StuckRunAnnouncement,
)
from run_notifier.domain.deadline import Deadline
from run_notifier.domain.ports import Traits
from run_notifier.domain.run_summary import RunSummary


class ChatRendering(Rendering):
    """A chat destination: mutes hold it, quiet hours hold what they hold, and it posts lists."""

    traits = Traits(chat=True)

    def post_run(self, summary: RunSummary, deadline: Deadline) -> str:
        """Post the run's message; return where it went."""
        raise NotImplementedError

    def post_lines(self, title: str, lines: list[str], deadline: Deadline) -> str:
        """Post one message: a title and one line each, every one escaped; return where it went."""
        raise NotImplementedError

    @renders(RunEndAnnouncement)
    def _run_end(self, announcement: RunEndAnnouncement, deadline: Deadline) -> str:
        return self.post_run(announcement.run, deadline)

    @renders(StuckRunAnnouncement)
    def _stuck(self, announcement: StuckRunAnnouncement, deadline: Deadline) -> str:
        """The run's message with "⏳ Still running — …" as its first line (run_facts.with_stuck)."""
        return self.post_run(with_stuck(announcement.run, announcement.alert), deadline)

    @renders(MissedScheduleAnnouncement)
    def _missed(self, announcement: MissedScheduleAnnouncement, deadline: Deadline) -> str:
        return self.post_lines(chat_title(announcement.missed), chat_lines(announcement.missed), deadline)

    @renders(HeldSummaryAnnouncement)
    def _held_summary(self, announcement: HeldSummaryAnnouncement, deadline: Deadline) -> str:
        return self.post_lines(announcement.title, list(announcement.lines), deadline)
