"""Projects take template updates: the real `cruft create` from a git copy of this
template, the project committed to git, one more commit on the template, then
`cruft update` and `cruft check`. The update must apply cleanly: only what the
template changed is changed, no .rej file, and .env (whose secret every render
draws anew) is left as it was."""

import os
import shutil
import subprocess
import sys

import pytest

import harness

# Commits in the throwaway repositories must not depend on the developer's git
# settings (identity, signing).
GIT_SETTINGS = ["-c", "user.name=Template Test", "-c", "user.email=test@example.com"]
GIT_SETTINGS += ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]
UPDATE_LINE = "A line the template added after the project was created."


def command(args, cwd, env):
    result = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(map(str, args))}` exited {result.returncode} in {cwd}:\n"
            f"{result.stdout}{result.stderr}",
            pytrace=False,
        )
    return result.stdout


def git(cwd, env, *args):
    return command(["git", *GIT_SETTINGS, *args], cwd, env)


def cruft(cwd, env, *args):
    return command([sys.executable, "-m", "cruft", *args], cwd, env)


def copy_template(destination, env):
    """The template as it is on disk (tracked and new files, nothing git ignores),
    committed to a repository of its own: cruft clones templates with git."""
    listed = command(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        harness.TEMPLATE_DIR,
        env,
    )
    for relative in filter(None, listed.split("\0")):
        source = harness.TEMPLATE_DIR / relative
        if source.is_file():  # tracked files deleted in the work tree are listed too
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / relative)
    git(destination, env, "init", "-q")
    git(destination, env, "add", "-A")
    git(destination, env, "commit", "-q", "-m", "template as tested")


def test_cruft_update_applies_cleanly_and_keeps_env(tmp_path):
    config = tmp_path / "cookiecutterrc.yml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'cookiecutters'}\nreplay_dir: {tmp_path / 'replay'}\n",
        encoding="utf-8",
    )
    # COOKIECUTTER_CONFIG: the developer's ~/.cookiecutterrc must not change the outcome.
    env = {**os.environ, "COOKIECUTTER_CONFIG": str(config)}
    template = tmp_path / "template"
    template.mkdir()
    copy_template(template, env)

    cruft(
        tmp_path,
        env,
        "create",
        str(template),
        "--no-input",
        "--output-dir",
        str(tmp_path / "projects"),
        "--extra-context",
        '{"project_name": "Bike Shop"}',
    )
    project = tmp_path / "projects" / "bike_shop"
    git(project, env, "init", "-q")
    git(project, env, "add", "-A")
    git(project, env, "commit", "-q", "-m", "project as created")
    env_file = (project / ".env").read_bytes()
    env_mode = (project / ".env").stat().st_mode

    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + f"\n{UPDATE_LINE}\n", encoding="utf-8")
    git(template, env, "commit", "-q", "-a", "-m", "template moves on")

    cruft(project, env, "update", "--skip-apply-ask")

    assert sorted(project.rglob("*.rej")) == []
    status = git(project, env, "status", "--porcelain", "--untracked-files=all").splitlines()
    # Only what the template changed (staged or not: git apply -3 stages its merges).
    assert sorted(line[3:] for line in status) == [".cruft.json", "README.md"]
    assert UPDATE_LINE in (project / "README.md").read_text(encoding="utf-8")
    assert (project / ".env").read_bytes() == env_file
    assert (project / ".env").stat().st_mode == env_mode
    cruft(project, env, "check")
