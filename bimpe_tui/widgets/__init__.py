"""The app's widgets: conversation picker, message log, status footer, help screen."""
