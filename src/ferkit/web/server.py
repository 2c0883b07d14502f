"""What one running app holds besides its settings: the shared inference service, the video jobs, the live
sessions' slots, the in-browser model and the private upload folder. ``create_app`` builds one ``Server`` and
keeps it as ``app.state.server``; routes receive its parts through the dependencies of ``deps.py``."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ferkit.web.browser_model import BrowserModel
from ferkit.web.jobs import JobManager
from ferkit.web.live import LiveSlots
from ferkit.web.service import InferenceService
from ferkit.web.settings import WebSettings


@dataclass
class Server:
    settings: WebSettings
    service: InferenceService  # the shared recogniser, run off the event loop
    jobs: JobManager  # video jobs (and their store)
    live: LiveSlots  # open live WebSocket sessions, in all and per client
    browser_model: BrowserModel  # the page's in-browser mode
    tmpdir: Path  # private folder of uploaded videos, removed at shutdown

    def close(self) -> None:
        self.jobs.close()
        self.service.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)
