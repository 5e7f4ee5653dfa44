# No models. The module exists so that Django sends post_migrate for this
# app, which re-declares the migration graph (signals.py).
