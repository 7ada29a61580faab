"""Built-in prompts, one TOML file each; shipped inside the package as gptplay.prompt_library."""
