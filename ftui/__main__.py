from ftui.entry import main

main()
