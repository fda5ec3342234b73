"""Error pages in Vietnamese; JSON for the API and the player's endpoints."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request

MESSAGES = {
    400: ("Yêu cầu không hợp lệ",
          "Biểu mẫu đã hết hạn hoặc thiếu dữ liệu. Hãy tải lại trang và thử lại."),
    403: ("Không có quyền truy cập", "Tài khoản của bạn không được phép xem trang này."),
    404: ("Không tìm thấy", "Trang hoặc nội dung bạn tìm không tồn tại."),
    405: ("Thao tác không được hỗ trợ", "Địa chỉ này không nhận kiểu yêu cầu đó."),
    413: ("Tệp quá lớn", "Tệp tải lên vượt quá giới hạn cho phép của hệ thống."),
    429: ("Thử quá nhiều lần",
          "Bạn đã thử quá nhiều lần. Vì an toàn cho tài khoản, vui lòng đợi ít phút rồi thử lại."),
    500: ("Lỗi hệ thống", "Đã có lỗi xảy ra. Dữ liệu của bạn không bị thay đổi; hãy thử lại sau."),
}


def register_error_pages(app: Flask) -> None:
    def handler(exc):
        code = getattr(exc, "code", 500) or 500
        title, message = MESSAGES.get(code, MESSAGES[500])
        if request.path.startswith(("/api/", "/play/attempt/")):
            return jsonify({"error": title, "detail": message}), code
        return render_template("error.html", title=title, message=message), code

    for code in MESSAGES:
        app.register_error_handler(code, handler)
