"""Writing a JSON document to a file or to the command's stdout."""
import json


def write_json(command, document, path):
    text = json.dumps(document, indent=1)
    if path in (None, "-"):
        command.stdout.write(text)
        return
    with open(path, "w", encoding="utf-8") as out:
        out.write(text + "\n")
