from gptplay.cli import main

main()
