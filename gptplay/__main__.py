from gptplay.entry import main

main()
