"""A throwaway PostgreSQL cluster for tests: initdb in a temporary folder, pg_ctl on a Unix socket there.

PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to `nobody`
(its files in a folder `nobody` owns); otherwise to the current user. It listens on no TCP port,
only on a socket in its own folder, trusts local connections, and is removed afterwards. `.ci/run`
installs Debian's postgresql when it is missing.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

UNPRIVILEGED_USER = "nobody"
SUPERUSER = "digits"


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/N/bin), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresCluster:
    def __init__(self, bin_dir: Path, fsync: bool = False):
        self.bin_dir = bin_dir
        self.fsync = fsync  # off for tests (nothing to keep); on for benchmarks
        self.folder = Path(tempfile.mkdtemp(prefix="digits-pg-"))
        self.data_dir = self.folder / "data"
        self.socket_dir = self.folder
        self.log_file = self.folder / "postgres.log"
        self._user = pwd.getpwnam(UNPRIVILEGED_USER) if os.geteuid() == 0 else None
        if self._user:
            os.chown(self.folder, self._user.pw_uid, self._user.pw_gid)
        self._run("initdb", "-D", self.data_dir, "-U", SUPERUSER, "--auth=trust", "--no-sync",
                  "--encoding=UTF8", "--locale=C")
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", self.socket_dir, "-U", SUPERUSER, name)
        return self.url(name)

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data_dir, "-l", self.log_file, "-w", "-t", "60", "-o",
                  f"-c listen_addresses='' -c unix_socket_directories={self.socket_dir} "
                  f"-c fsync={'on' if self.fsync else 'off'} "
                  "-c max_connections=200", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *args) -> None:
        command = [str(self.bin_dir / program), *map(str, args)]
        if self._user:
            command = ["setpriv", f"--reuid={self._user.pw_uid}", f"--regid={self._user.pw_gid}",
                       "--clear-groups", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120, cwd=self.folder,
                       env={**os.environ, "LC_ALL": "C"})
